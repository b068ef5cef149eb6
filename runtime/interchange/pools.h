// Turns read records into one flattened pool per policy: answers extracted and grouped into
// equivalence classes once per problem, classes marked correct against the gold answer.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "runtime/aggregation/pool.h"
#include "runtime/answers/answer.h"
#include "runtime/interchange/records.h"

namespace quorum::interchange {

// Policies in order of first appearance; problems in file order. threads <= 0: all cores.
std::vector<aggregation::PolicyPool> build_pools(const Dataset& dataset,
                                                 const answers::ExtractOptions& extract,
                                                 int threads = 0);

// The problems' levels (a row's `level`): level -> problem ids, over the problems that have one.
// A problem given two levels by the rows of two policies is an InputError naming the second row.
std::map<std::string, std::set<std::string>> problem_levels(const Dataset& dataset);

}  // namespace quorum::interchange
