// A synthetic response pool with known structure, for the demo of the aggregation engine, its
// tests and its benchmark. Policies differ in skill and in how strongly their wrong answers
// cluster; PRMs differ in how well their step scores separate correct from wrong steps and in
// calibration (one is overconfident: everything scores high, so low scores are the signal and
// optimal weights go negative). Everything is a function of the seed.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/interchange/records.h"

namespace quorum::synth {

struct SyntheticSpec {
  int problems = 200;
  int responses = 64;   // per problem and policy
  int policies = 2;     // at most 3
  int prms = 4;         // at most 4
  std::uint64_t seed = 0;
};

interchange::Dataset synthetic_dataset(const SyntheticSpec& spec);

// The dataset as quorum-interchange JSONL (docs/interchange.md), one row per (problem, policy).
void write_jsonl(const interchange::Dataset& dataset, const std::string& path);

}  // namespace quorum::synth
