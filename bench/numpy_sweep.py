#!/usr/bin/python3
"""NumPy reference of quorum's analysis sweep, for bench/bench_analyze.cpp.

Usage: /usr/bin/python3 bench/numpy_sweep.py DIR

DIR holds a pool exported by the benchmark (raw little-endian arrays plus settings.json). The
script computes, with plain vectorised NumPy, what `quorum analyze` computes for that pool with
k-fold cross-fitted calibration: every PRM x every reduction, every strategy at every budget,
the per-problem mean credit over the seeded draws, the mean over problems and the bootstrap
intervals. It writes

  DIR/numpy_seconds.txt   seconds the sweep took (file loading and Python start-up excluded)
  DIR/numpy_accuracy.csv  `prm/reduction/strategy/budget accuracy`, one line each
  DIR/numpy_ci.csv        `prm/reduction/strategy/budget low high` (bootstrap, 95%)

The semantics follow the C++ engine (runtime/aggregation, runtime/calibration,
runtime/analysis) operation by operation, so that the accuracies agree bit for bit: every sum
the engine accumulates sequentially is accumulated here in the same order (np.bincount adds its
weights in index order; np.cumsum and ufunc.accumulate are sequential), and every floating-point
expression is evaluated with the same operations in the same order.

Layout: a problem's draws are permutations of its responses; they are stored "position-major",
as (position k, problem, draw), so that the budget-N prefix of every draw of every problem is
the contiguous block [:N], and a bincount over it visits each (problem, draw, class) bin's
responses in draw order.
"""
import json
import math
import os
import sys
import time

import numpy as np

STRATEGIES = ["majority", "best_of_n", "weighted", "linear_wv", "logit_wv", "kde_wv", "oracle",
              "pass_at_n"]
REDUCTIONS = ["last", "min", "prod", "mean", "max"]
EVALUATION, CALIBRATION, BOOTSTRAP = 1, 2, 3  # aggregation::Stream

U64 = np.uint64
LOW16 = U64(0xFFFF)

# calibration grids (calibration.cpp)
LINEAR_GRID = np.array([i / 100.0 for i in range(-100, 101)])
LOGIT_GRID = np.array([i / 100.0 for i in range(1, 100)])
LOGIT_OFFSETS = np.log(LOGIT_GRID / (1.0 - LOGIT_GRID))

# KDE grid (kde.h / kde.cpp)
KDE_POINTS = 512
KDE_LOW, KDE_HIGH = -14.0, 14.0
KDE_STEP = (KDE_HIGH - KDE_LOW) / (KDE_POINTS - 1)
KDE_FLOOR = 1e-9
Q_BINS = 10


# ---------------------------------------------------------------------------- seeded draws

def splitmix64(x):
    """splitmix64 of a uint64 array (wrapping arithmetic)."""
    x = x + U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> U64(27))) * U64(0x94D049BB133111EB)
    return x ^ (x >> U64(31))


def stream_key(seed, stream):
    return splitmix64(splitmix64(np.array([seed], dtype=U64)) ^ U64(stream))[0]


def permutations(stream, problems, n, draws):
    """Draws 0..draws-1 of each problem in `problems` (global ids), n responses each, as local
    response indices laid out (position k, problem, draw)."""
    j = problems.astype(U64)[:, None]
    d = np.arange(draws, dtype=U64)[None, :]
    base = splitmix64(splitmix64(U64(stream) ^ j) ^ d)                      # (Pg, D)
    i = np.arange(n, dtype=U64)
    keys = (splitmix64(base[:, :, None] ^ i) & ~LOW16) | i                  # (Pg, D, n)
    keys.sort(axis=-1)
    order = (keys & LOW16).astype(np.int64)
    del keys
    return np.ascontiguousarray(order.transpose(2, 0, 1))                   # (n, Pg, D)


# ---------------------------------------------------------------------------- scores

def reduce_scores(offsets, values, reduction):
    """One double per response from its float32 step scores (strategy.cpp reduce)."""
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    values = values[:offsets[-1]]
    if reduction == "last":
        return values[starts + lengths - 1].astype(np.float64)
    if reduction == "min":
        return np.minimum.reduceat(values, starts).astype(np.float64)
    if reduction == "max":
        return np.maximum.reduceat(values, starts).astype(np.float64)
    # prod and mean accumulate in double, step by step: loop over step positions.
    acc = np.ones(len(starts)) if reduction == "prod" else np.zeros(len(starts))
    for s in range(int(lengths.max()) if len(lengths) else 0):
        live = np.nonzero(lengths > s)[0]
        step = values[starts[live] + s].astype(np.float64)
        if reduction == "prod":
            acc[live] *= step
        else:
            acc[live] += step
    return acc if reduction == "prod" else acc / lengths


def clamped_logit(p):
    q = np.clip(p, 1e-6, 1.0 - 1e-6)
    return np.log(q / (1.0 - q))


# ---------------------------------------------------------------------------- calibration

def nearest_grid_index(logits):
    """std::lround((logit - low) / step), clamped: rounds halves away from zero."""
    position = (logits - KDE_LOW) / KDE_STEP
    magnitude = np.abs(position)
    whole = np.floor(magnitude)
    rounded = np.sign(position) * (whole + (magnitude - whole >= 0.5))
    return np.clip(rounded, 0, KDE_POINTS - 1).astype(np.int64)


def silverman_bandwidth(values):
    n = len(values)
    mean = np.cumsum(values)[-1] / n
    deviation = values - mean
    variance = np.cumsum(deviation * deviation)[-1] / n
    return max(1.06 * math.sqrt(variance) * math.pow(n, -0.2), KDE_STEP)


KERNEL_INDEX = (np.arange(KDE_POINTS)[None, :] - np.arange(KDE_POINTS)[:, None]) + KDE_POINTS - 1


def binned_density(values, bandwidth):
    counts = np.bincount(nearest_grid_index(values), minlength=KDE_POINTS).astype(np.float64)
    distance = np.arange(-(KDE_POINTS - 1), KDE_POINTS).astype(np.float64)
    z = distance * KDE_STEP / bandwidth
    kernel = np.exp(-0.5 * z * z)
    # density[g] = sum over k (ascending) of counts[k] * kernel(g - k); zero counts add +0.0.
    density = np.cumsum(counts[:, None] * kernel[KERNEL_INDEX], axis=0)[-1]
    norm = 1.0 / (len(values) * bandwidth * math.sqrt(2.0 * math.pi))
    return density * norm


def kde_fit(correct_logits, incorrect_logits):
    """log f1/f0 on the grid, or None when either class has fewer than two responses."""
    if len(correct_logits) < 2 or len(incorrect_logits) < 2:
        return None
    f1 = binned_density(correct_logits, silverman_bandwidth(correct_logits))
    f0 = binned_density(incorrect_logits, silverman_bandwidth(incorrect_logits))
    return np.log(f1 + KDE_FLOOR) - np.log(f0 + KDE_FLOOR)


def kde_at(llr, logits):
    if llr is None:
        return np.zeros_like(logits)
    g = np.minimum(((logits - KDE_LOW) / KDE_STEP).astype(np.int64), KDE_POINTS - 2)
    g = np.maximum(g, 0)  # only where logit <= low, which is overridden below
    x0 = KDE_LOW + g * KDE_STEP
    slope = (llr[g + 1] - llr[g]) / ((KDE_LOW + (g + 1) * KDE_STEP) - x0)
    value = slope * (logits - x0) + llr[g]
    return np.where(logits <= KDE_LOW, llr[0], np.where(logits >= KDE_HIGH, llr[-1], value))


def q_bin(p):
    return np.clip((p * Q_BINS).astype(np.int64), 0, Q_BINS - 1)


def best_on_grid(grid, accuracy, neutral):
    best = accuracy.max()
    chosen, found = grid[0], False
    for value, a in zip(grid, accuracy):
        if a < best - 1e-12:
            continue
        if not found or abs(value - neutral) < abs(chosen - neutral) - 1e-12:
            chosen = value
        found = True
    return float(chosen)


def group_tops(present, counts, sums, longest):
    """Classes that are the best sum among the classes with their count (calibration.cpp
    group_by_count): only those compete in the grid search."""
    rows = present.shape[0] * present.shape[1]
    key = np.arange(rows).reshape(present.shape[0], present.shape[1], 1) * (longest + 1) + counts
    best = np.full(rows * (longest + 1), -np.inf)
    np.maximum.at(best, key[present], sums[present])
    return present & (sums == best[key])


def grid_credit(tops, counts, sums, correct, offsets, weight):
    """Per (problem, draw, offset c): weight * tied_correct / tied of argmax(sum - c count)."""
    score = sums[..., None] - offsets * counts[..., None]          # (Pg, D, C, G)
    score = np.where(tops[..., None], score, -np.inf)
    best = score.max(axis=2, keepdims=True)
    tied = tops[..., None] & (score == best)
    t = tied.sum(axis=2)
    tc = (tied & correct[:, None, :, None]).sum(axis=2)
    return np.where(t > 0, (weight * tc) / np.maximum(t, 1), 0.0)


# ---------------------------------------------------------------------------- votes

def top_credit(score, mask, correct):
    s = np.where(mask, score, -np.inf)
    tied = mask & (s == s.max(axis=-1, keepdims=True))
    t = tied.sum(axis=-1)
    tc = (tied & correct).sum(axis=-1)
    return np.where(t > 0, tc / np.maximum(t, 1), 0.0)


def vote_credits(counts, sum_p, sum_logit, sum_llr, has_max, sum_q, drawn, oracle, correct,
                 linear_b, logit_offset):
    """Credit of each drawn strategy per (problem, draw) (vote.cpp DrawState::credits)."""
    present = counts > 0
    c = counts.astype(np.float64)
    m = present.sum(axis=-1).astype(np.float64)
    q = np.clip(sum_q / drawn, 1e-6, 1.0 - 1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        prior = np.where(m > 1, np.log(q * (m - 1.0) / (1.0 - q)), 0.0)
    kde = np.where((m > 1)[..., None], sum_llr + prior[..., None] * c, 0.0)
    correct = correct[:, None, :]
    b = linear_b[:, None, None]
    offset = logit_offset[:, None, None]
    return {
        "majority": top_credit(c, present, correct),
        "best_of_n": top_credit(np.zeros_like(c), present & has_max, correct),
        "weighted": top_credit(sum_p, present, correct),
        "linear_wv": top_credit(sum_p - b * c, present, correct),
        "logit_wv": top_credit(sum_logit - offset * c, present, correct),
        "kde_wv": top_credit(kde, present, correct),
        "oracle": oracle.astype(np.float64),
    }


def pass_at_n(n, c, budget):
    """1 - prod_{i<N} (n-c-i)/(n-i), 1 when fewer than N responses are wrong."""
    n = n.astype(np.float64)[:, None]
    c = c.astype(np.float64)[:, None]
    i = np.arange(budget, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        none_correct = np.cumprod((n - c - i) / (n - i), axis=1)[:, -1]
    return np.where(n[:, 0] - c[:, 0] < budget, 1.0, 1.0 - none_correct)


# ---------------------------------------------------------------------------- the pool

class Pool:
    def __init__(self, directory):
        def load(name, dtype):
            return np.fromfile(os.path.join(directory, name), dtype=dtype)

        with open(os.path.join(directory, "settings.json")) as f:
            self.settings = json.load(f)
        self.response_offsets = load("response_offsets.u32", "<u4").astype(np.int64)
        self.answer_class = load("answer_class.i32", "<i4").astype(np.int64)
        self.class_offsets = load("class_offsets.u32", "<u4").astype(np.int64)
        self.class_correct = load("class_correct.u8", "u1")
        self.folds = load("folds.i32", "<i4").astype(np.int64)
        self.steps = [(load("steps%d.u32" % m, "<u4").astype(np.int64), load("scores%d.f32" % m, "<f4"))
                      for m in range(len(self.settings["prms"]))]

    def prepare(self):
        """Derived arrays (part of the timed work)."""
        self.problems = len(self.response_offsets) - 1
        self.sizes = np.diff(self.response_offsets)
        self.problem_of = np.repeat(np.arange(self.problems), self.sizes)
        num_classes = np.diff(self.class_offsets)
        self.classes = max(int(num_classes.max()) if self.problems else 1, 1)
        # per problem, per local class: correct (padding classes are never present)
        local = np.arange(self.classes)[None, :]
        flat = np.minimum(self.class_offsets[:-1, None] + local, max(len(self.class_correct) - 1, 0))
        self.correct = (local < num_classes[:, None]) & (self.class_correct[flat] != 0)
        answered = self.answer_class >= 0
        safe_class = np.where(answered, self.answer_class, 0)
        self.is_correct = answered & self.correct[self.problem_of, safe_class]
        self.num_correct = np.bincount(self.problem_of, weights=self.is_correct,
                                       minlength=self.problems).astype(np.int64)
        # problems grouped by their number of responses (all equal in the benchmark)
        self.groups = [(int(n), np.nonzero(self.sizes == n)[0]) for n in np.unique(self.sizes)]


class Group:
    """One group of problems with n responses each, and `draws` permutations of each."""

    def __init__(self, pool, n, problems, stream, draws, budgets):
        self.n, self.problems, self.draws = n, problems, draws
        usable = [b for b in budgets if b <= n]
        self.whole_pool_last = bool(usable) and usable[-1] == n
        self.drawn_budgets = usable[:-1] if self.whole_pool_last else usable
        self.usable = len(usable)
        self.correct = pool.correct[problems]
        longest = self.drawn_budgets[-1] if self.drawn_budgets else 0
        if longest:
            order = permutations(stream, problems, n, draws)[:longest]
            self.drawn = self._layout(pool, pool.response_offsets[problems][None, :, None] + order, draws)
        if self.whole_pool_last:
            natural = pool.response_offsets[problems][None, :, None] + np.arange(n)[:, None, None]
            self.whole = self._layout(pool, natural, 1)

    def _layout(self, pool, responses, draws):
        """What every cell shares for an ordering (k, problem, draw) of global responses."""
        cls = pool.answer_class[responses]
        rows = np.arange(len(self.problems) * draws).reshape(1, len(self.problems), draws)
        bins = len(self.problems) * draws * pool.classes
        index = np.where(cls >= 0, rows * pool.classes + cls, bins)
        covered = np.logical_or.accumulate(pool.is_correct[responses], axis=0)
        return {"responses": responses, "index": index, "bins": bins, "draws": draws,
                "covered": covered, "counts": {}}

    def counts(self, layout, budget):
        if budget not in layout["counts"]:
            layout["counts"][budget] = self.class_sum(layout, budget, None).astype(np.int64)
        return layout["counts"][budget]

    def class_sum(self, layout, budget, values):
        """Per (problem, draw, class): the sum of values over the budget prefix, added in draw
        order (np.bincount adds weights in index order); abstentions land in a spare bin."""
        index = layout["index"][:budget].ravel()
        weights = None if values is None else values[:budget].ravel()
        total = np.bincount(index, weights=weights, minlength=layout["bins"] + 1)[:layout["bins"]]
        return total.reshape(len(self.problems), layout["draws"], -1)


# ---------------------------------------------------------------------------- the analysis

def offset_credit(group, p, logit):
    """Per problem of the group and grid value: mean credit of linear_wv and logit_wv over the
    calibration draws and usable budgets (calibration.cpp offset_credit)."""
    pieces = {"linear": [], "logit": []}
    extra = {}

    def credits(layout, budget, weight):
        counts = group.counts(layout, budget)
        present = counts > 0
        out = {}
        for name, values, offsets in (("linear", p, LINEAR_GRID), ("logit", logit, LOGIT_OFFSETS)):
            sums = group.class_sum(layout, budget, values[layout["responses"]])
            tops = group_tops(present, counts, sums, budget)
            out[name] = grid_credit(tops, counts, sums, group.correct, offsets, weight)
        return out

    for budget in group.drawn_budgets:
        for name, value in credits(group.drawn, budget, 1.0).items():
            pieces[name].append(value)                            # (Pg, D, G)
    if group.whole_pool_last:
        extra = credits(group.whole, group.n, float(group.draws))
    result = {}
    evaluations = float(group.draws) * group.usable
    for name, grid in (("linear", LINEAR_GRID), ("logit", LOGIT_GRID)):
        total = np.zeros((len(group.problems), len(grid)))
        if pieces[name]:
            # added draw by draw, budget by budget, in that order
            stacked = np.stack(pieces[name], axis=2)              # (Pg, D, B, G)
            stacked = stacked.reshape(len(group.problems), -1, len(grid))
            total = np.cumsum(stacked, axis=1)[:, -1, :]
        if name in extra:
            total = total + extra[name][:, 0, :]
        result[name] = total / evaluations if group.usable > 0 else total
    return result


def fit(pool, credit, p, logit, use):
    """Calibration on the problems with use[j] (calibration.cpp fit)."""
    fitted = {"linear_b": 0.0, "logit_b": 0.5}
    used = np.nonzero(use)[0]
    if len(used):
        linear = np.cumsum(credit["linear"][used], axis=0)[-1] / len(used)
        logit_accuracy = np.cumsum(credit["logit"][used], axis=0)[-1] / len(used)
        fitted["linear_b"] = best_on_grid(LINEAR_GRID, linear, 0.0)
        fitted["logit_b"] = best_on_grid(LOGIT_GRID, logit_accuracy, 0.5)
    responses = use[pool.problem_of]
    correct = pool.is_correct[responses]
    fitted["llr"] = kde_fit(logit[responses][correct], logit[responses][~correct])
    bins = q_bin(p[responses])
    right = np.bincount(bins, weights=correct, minlength=Q_BINS)
    total = np.bincount(bins, minlength=Q_BINS).astype(np.float64)
    fitted["q"] = (right + 1.0) / (total + 2.0)
    return fitted


def sweep_cell(pool, groups, p, logit, llr, q, linear_b, logit_offset, budgets, draws):
    """per_problem[strategy][budget index] -> (P,) mean credit over the draws."""
    per_problem = {s: np.zeros((len(budgets), pool.problems)) for s in STRATEGIES}
    for group in groups:
        J = group.problems
        lb, lo = linear_b[J], logit_offset[J]

        def evaluate(layout, budget_list, weight):
            responses = layout["responses"]
            longest = budget_list[-1]
            vp = p[responses[:longest]]
            vl = logit[responses[:longest]]
            vk = llr[responses[:longest]]
            vq = np.cumsum(q[responses[:longest]], axis=0)   # sequential, as DrawState::add
            answered = pool.answer_class[responses[:longest]] >= 0
            top_p = np.maximum.accumulate(np.where(answered, vp, -np.inf), axis=0)
            out = {}
            for budget in budget_list:
                counts = group.counts(layout, budget)
                has_max = group.class_sum(layout, budget, (vp[:budget] == top_p[budget - 1]).astype(np.float64)) > 0
                credits = vote_credits(counts, group.class_sum(layout, budget, vp),
                                       group.class_sum(layout, budget, vl),
                                       group.class_sum(layout, budget, vk), has_max,
                                       vq[budget - 1], float(budget),
                                       layout["covered"][budget - 1], group.correct, lb, lo)
                for s, credit in credits.items():
                    # sums += weight * credit, draw by draw; then / draws
                    total = np.cumsum(weight * credit, axis=1)[:, -1]
                    out[(s, budget)] = total / draws
            return out

        results = {}
        if group.drawn_budgets:
            results.update(evaluate(group.drawn, group.drawn_budgets, 1.0))
        if group.whole_pool_last:
            results.update(evaluate(group.whole, [group.n], float(draws)))
        for (s, budget), value in results.items():
            per_problem[s][budgets.index(budget), J] = value
    for b, budget in enumerate(budgets):
        per_problem["pass_at_n"][b] = pass_at_n(pool.sizes, pool.num_correct, budget)
    return per_problem


def bootstrap_multiplicity(problems, resamples, seed):
    stream = stream_key(seed, BOOTSTRAP)
    b = np.arange(resamples, dtype=U64)[:, None]
    k = np.arange(problems, dtype=U64)[None, :]
    picked = (splitmix64(splitmix64(splitmix64(stream ^ b) ^ U64(0)) ^ k) % U64(problems)).astype(np.int64)
    flat = np.arange(resamples)[:, None] * problems + picked
    return np.bincount(flat.ravel(), minlength=resamples * problems).reshape(resamples, problems).astype(np.float64)


def analyze(pool):
    settings = pool.settings
    budgets = [int(b) for b in settings["budgets"]]
    draws, calibration_draws = int(settings["draws"]), int(settings["calibration_draws"])
    seed, folds = int(settings["seed"]), int(settings["folds"])
    pool.prepare()
    P = pool.problems
    evaluation_stream = stream_key(seed, EVALUATION)
    calibration_stream = stream_key(seed, CALIBRATION)
    multiplicity = bootstrap_multiplicity(P, int(settings["bootstrap"]), seed)

    calibration_groups = [Group(pool, n, J, calibration_stream, calibration_draws, budgets)
                          for n, J in pool.groups]
    evaluation_groups = [Group(pool, n, J, evaluation_stream, draws, budgets) for n, J in pool.groups]

    accuracy, intervals = {}, {}
    for m, prm in enumerate(settings["prms"]):
        offsets, values = pool.steps[m]
        for reduction in REDUCTIONS:
            p = reduce_scores(offsets, values, reduction)
            logit = clamped_logit(p)
            # calibration: grid credits per problem once, fitted per fold on the other folds
            credit = {"linear": np.zeros((P, len(LINEAR_GRID))), "logit": np.zeros((P, len(LOGIT_GRID)))}
            for group in calibration_groups:
                part = offset_credit(group, p, logit)
                credit["linear"][group.problems] = part["linear"]
                credit["logit"][group.problems] = part["logit"]
            llr = np.zeros(len(p))
            q = np.zeros(len(p))
            linear_b = np.zeros(P)
            logit_offset = np.zeros(P)
            for f in range(folds):
                fitted = fit(pool, credit, p, logit, pool.folds != f)
                mine = pool.folds == f
                responses = mine[pool.problem_of]
                llr[responses] = kde_at(fitted["llr"], logit[responses])
                q[responses] = fitted["q"][q_bin(p[responses])]
                linear_b[mine] = fitted["linear_b"]
                logit_offset[mine] = math.log(fitted["logit_b"] / (1.0 - fitted["logit_b"]))
            per_problem = sweep_cell(pool, evaluation_groups, p, logit, llr, q, linear_b, logit_offset,
                                     budgets, draws)
            for s in STRATEGIES:
                series = per_problem[s]                                     # (B, P)
                means = np.cumsum(series, axis=1)[:, -1] / P
                resampled = (multiplicity @ series.T) / P                   # (R, B)
                low = np.quantile(resampled, 0.025, axis=0)
                high = np.quantile(resampled, 0.975, axis=0)
                for b, budget in enumerate(budgets):
                    key = "%s/%s/%s/%d" % (prm, reduction, s, budget)
                    accuracy[key] = float(means[b])
                    intervals[key] = (float(low[b]), float(high[b]))
    return accuracy, intervals


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: numpy_sweep.py DIR")
    directory = sys.argv[1]
    pool = Pool(directory)
    start = time.perf_counter()
    accuracy, intervals = analyze(pool)
    seconds = time.perf_counter() - start
    with open(os.path.join(directory, "numpy_seconds.txt"), "w") as f:
        f.write("%.6f\n" % seconds)
    with open(os.path.join(directory, "numpy_accuracy.csv"), "w") as f:
        for key, value in accuracy.items():
            f.write("%s %r\n" % (key, value))
    with open(os.path.join(directory, "numpy_ci.csv"), "w") as f:
        for key, (low, high) in intervals.items():
            f.write("%s %r %r\n" % (key, low, high))
    print("numpy_sweep: %d accuracies in %.2f s" % (len(accuracy), seconds), file=sys.stderr)


if __name__ == "__main__":
    main()
