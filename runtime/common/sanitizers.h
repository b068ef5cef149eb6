// Which sanitizer this translation unit is built with: QUORUM_ASAN, QUORUM_TSAN (or neither).
// gcc names a sanitizer build by a macro, clang by a feature test.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define QUORUM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QUORUM_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define QUORUM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QUORUM_TSAN 1
#endif
#endif
