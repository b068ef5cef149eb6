// Function multiversioning for the aggregation's hottest loops: an AVX2 clone and a default one,
// picked once at load time by an ifunc resolver.
//
// Sanitizer builds (QUORUM_SANITIZE, docs/reliability.md) compile a single version instead: the
// resolvers run during relocation, before the ThreadSanitizer runtime is initialised, and an
// instrumented resolver then crashes the program before main.
#pragma once

#if defined(QUORUM_NO_TARGET_CLONES)
#define QUORUM_AVX2_CLONES
#else
#define QUORUM_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif
