// The linearizability checker on hand-written histories, on histories produced
// by a real sequential store under overlapping clients (which must always
// pass), and on the same histories with one planted stale read (which must
// always fail). A failure prints the seed; rerun one with --gtest_filter.

#include "tests/sim/linearizability.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace roster::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Op = KvOperation;

LinearizabilityResult check(const std::vector<KvOperation>& history) { return check_kv_linearizability(history); }

std::string show(const LinearizabilityResult& result) {
  return to_string(result.verdict) + " key=" + result.key + "\n" + result.explanation;
}

// --- hand-written histories ---

TEST(LinearizabilityTest, EmptyHistoryIsLinearizable) { EXPECT_TRUE(check({}).linearizable()); }

TEST(LinearizabilityTest, SequentialHistoryIsLinearizable) {
  auto result = check({
      Op::get(1, "k", std::nullopt, 0, 5),
      Op::put(1, "k", "a", 10, 20),
      Op::get(2, "k", "a", 30, 40),
      Op::cas(2, "k", "a", "b", true, 50, 60),
      Op::cas(1, "k", "a", "c", false, 70, 80),
      Op::get(1, "k", "b", 90, 100),
  });
  EXPECT_TRUE(result.linearizable()) << show(result);
}

TEST(LinearizabilityTest, StaleReadAfterCompletedPutIsRejected) {
  auto result = check({
      Op::put(1, "k", "a", 0, 10),
      Op::put(2, "k", "b", 20, 30),
      Op::get(3, "k", "a", 40, 50),
  });
  ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_EQ(result.key, "k");
  EXPECT_THAT(result.violating_keys, ElementsAre("k"));
  EXPECT_THAT(result.explanation, HasSubstr("client 3 [40, 50] get() = \"a\""));
  EXPECT_THAT(result.explanation, HasSubstr("Longest linearizable prefix (2 of 3): #0 #1"));
  EXPECT_THAT(result.explanation, HasSubstr("After it the value is \"b\""));
}

TEST(LinearizabilityTest, LostWriteIsRejected) {
  auto result = check({
      Op::put(1, "k", "a", 0, 10),
      Op::get(2, "k", std::nullopt, 20, 30),
  });
  ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_THAT(result.explanation, HasSubstr("get() = absent"));
}

TEST(LinearizabilityTest, CasSucceedingTwiceOnTheSameExpectedValueIsRejected) {
  auto result = check({
      Op::put(1, "k", "a", 0, 10),
      Op::cas(2, "k", "a", "b", true, 20, 40),
      Op::cas(3, "k", "a", "c", true, 25, 35),
  });
  ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
}

TEST(LinearizabilityTest, CasSucceedingTwiceIsFineWhenTheValueWasWrittenAgainBetween) {
  auto result = check({
      Op::put(1, "k", "a", 0, 10),
      Op::cas(2, "k", "a", "b", true, 20, 40),
      Op::put(1, "k", "a", 20, 50),
      Op::cas(3, "k", "a", "c", true, 25, 60),
  });
  EXPECT_TRUE(result.linearizable()) << show(result);
}

TEST(LinearizabilityTest, FailedCasIsAReadOfSomethingElse) {
  EXPECT_TRUE(check({Op::put(1, "k", "a", 0, 10), Op::cas(2, "k", "b", "c", false, 20, 30)}).linearizable());
  EXPECT_TRUE(check({Op::cas(2, "k", "b", "c", false, 0, 5)}).linearizable());
  auto result = check({Op::put(1, "k", "a", 0, 10), Op::cas(2, "k", "a", "c", false, 20, 30)});
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  result = check({Op::cas(2, "k", std::nullopt, "c", false, 0, 5)});
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
}

TEST(LinearizabilityTest, ConcurrentOperationsAreFineInEitherOrder) {
  // The put overlaps both reads: one saw it, the other not.
  EXPECT_TRUE(check({
                        Op::put(1, "k", "a", 0, 100),
                        Op::get(2, "k", std::nullopt, 10, 20),
                        Op::get(3, "k", "a", 30, 40),
                    })
                  .linearizable());
  // Two concurrent puts, read back in both orders by the readers that overlap them.
  for (const char* last : {"a", "b"}) {
    auto result = check({
        Op::put(1, "k", "a", 0, 50),
        Op::put(2, "k", "b", 10, 40),
        Op::get(3, "k", last, 60, 70),
    });
    EXPECT_TRUE(result.linearizable()) << last << "\n" << show(result);
  }
  // Returning at t and being called at t overlap (closed intervals).
  EXPECT_TRUE(check({Op::put(1, "k", "a", 0, 10), Op::get(2, "k", std::nullopt, 10, 20)}).linearizable());
  EXPECT_FALSE(check({Op::put(1, "k", "a", 0, 10), Op::get(2, "k", std::nullopt, 11, 20)}).linearizable());
}

TEST(LinearizabilityTest, ReadsCannotSeeValuesGoBackwards) {
  auto result = check({
      Op::put(1, "k", "a", 0, 100),
      Op::get(2, "k", "a", 10, 20),
      Op::get(3, "k", std::nullopt, 30, 40),
  });
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
}

TEST(LinearizabilityTest, UnknownPutWhoseValueIsReadLaterIsFine) {
  auto result = check({
      Op::put(1, "k", "a", 0, 10), Op::unknown_put(2, "k", "b", 20), Op::get(3, "k", "a", 100, 110),  // not yet...
      Op::get(3, "k", "b", 500, 510),  // ...then long after the client gave up
  });
  EXPECT_TRUE(result.linearizable()) << show(result);
}

TEST(LinearizabilityTest, UnknownPutThatIsNeverReadIsFine) {
  auto result = check({
      Op::put(1, "k", "a", 0, 10),
      Op::unknown_put(2, "k", "b", 20),
      Op::get(3, "k", "a", 100, 110),
      Op::get(3, "k", "a", 500, 510),
  });
  EXPECT_TRUE(result.linearizable()) << show(result);
}

TEST(LinearizabilityTest, UnknownPutTakesEffectAtMostOnce) {
  auto result = check({
      Op::put(1, "k", "a", 0, 10),
      Op::unknown_put(2, "k", "b", 20),
      Op::get(3, "k", "b", 100, 110),
      Op::put(1, "k", "a", 200, 210),
      Op::get(3, "k", "b", 300, 310),
  });
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
}

TEST(LinearizabilityTest, UnknownPutCannotTakeEffectBeforeItsCall) {
  auto result = check({
      Op::get(3, "k", "b", 0, 10),
      Op::unknown_put(2, "k", "b", 20),
  });
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_THAT(result.explanation, HasSubstr("client 2 [20, ?] put(\"b\") (no answer)"));
}

TEST(LinearizabilityTest, UnknownCasMaySucceedOrNot) {
  std::vector<Op> history = {
      Op::put(1, "k", "a", 0, 10),
      Op::unknown_cas(2, "k", "a", "b", 20),
      Op::get(3, "k", "a", 30, 40),
  };
  EXPECT_TRUE(check(history).linearizable());
  history.push_back(Op::get(3, "k", "b", 50, 60));
  EXPECT_TRUE(check(history).linearizable());
  // It can only swap from "a": once "c" is written and read, "b" cannot appear.
  history = {
      Op::put(1, "k", "a", 0, 10),  Op::unknown_cas(2, "k", "a", "b", 20), Op::put(1, "k", "c", 30, 40),
      Op::get(3, "k", "c", 50, 60), Op::get(3, "k", "b", 70, 80),
  };
  EXPECT_EQ(check(history).verdict, LinearizabilityVerdict::not_linearizable);
}

TEST(LinearizabilityTest, UnknownWriteMayExplainAFailedCas) {
  // Only "b" landing before the cas explains why it failed; the checker must
  // not set the unanswered put aside just because no read saw "b".
  auto result = check({
      Op::put(1, "k", "a", 0, 10),
      Op::unknown_put(2, "k", "b", 20),
      Op::cas(3, "k", "a", "c", false, 30, 40),
  });
  EXPECT_TRUE(result.linearizable()) << show(result);
}

TEST(LinearizabilityTest, UnobservedUnknownWritesDoNotBlowUpTheSearch) {
  // Twenty unanswered puts nobody read, then a stale read. Each could land at
  // any point, so refuting the read with them in would take 2^20 subsets.
  std::vector<Op> history = {Op::put(1, "k", "a", 0, 10), Op::put(1, "k", "b", 20, 30)};
  for (int i = 0; i < 20; ++i)
    history.push_back(Op::unknown_put(static_cast<uint64_t>(10 + i), "k", "u" + std::to_string(i), 5));
  history.push_back(Op::get(2, "k", "a", 40, 50));
  auto result = check(history);
  ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_LT(result.steps, 100u);
  EXPECT_THAT(result.explanation, HasSubstr("(20 unanswered writes whose values nothing observed are left out.)"));
}

TEST(LinearizabilityTest, UnknownGetIsIgnored) {
  Op lost_get = Op::get(2, "k", "never written", 20, 30);
  lost_get.outcome = KvOpOutcome::unknown;
  EXPECT_TRUE(check({Op::put(1, "k", "a", 0, 10), lost_get}).linearizable());
}

TEST(LinearizabilityTest, ReadOfAValueNoOneWroteIsRejected) {
  auto result = check({
      Op::put(1, "k", "a", 0, 10),
      Op::get(2, "k", "z", 20, 30),
  });
  ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_THAT(result.explanation, HasSubstr("get() = \"z\""));
  result = check({Op::get(2, "k", "z", 20, 30)});
  ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_THAT(result.explanation, HasSubstr("Longest linearizable prefix (0 of 1): none"));
}

TEST(LinearizabilityTest, KeysAreIndependent) {
  // Per key each is fine; a checker that shared one register would fail it.
  auto result = check({
      Op::put(1, "x", "1", 0, 10),
      Op::put(2, "y", "2", 20, 30),
      Op::get(3, "x", "1", 40, 50),
      Op::get(3, "z", std::nullopt, 40, 50),
  });
  EXPECT_TRUE(result.linearizable()) << show(result);
  result = check({
      Op::put(1, "x", "1", 0, 10),
      Op::get(2, "y", "1", 20, 30),
      Op::get(2, "w", "9", 20, 30),
  });
  ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_EQ(result.key, "w");
  EXPECT_THAT(result.violating_keys, ElementsAre("w", "y"));
}

TEST(LinearizabilityTest, OperationReturningBeforeItsCallIsAnInvalidHistory) {
  auto result = check({Op::put(1, "k", "a", 10, 5)});
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::invalid_history);
  EXPECT_THAT(result.explanation, HasSubstr("[10, 5]"));
}

// Many concurrent puts of distinct values, then a read no order explains:
// refuting it means trying every subset, so it is exponential in `writers`.
std::vector<Op> pathological_history(const std::string& key, int writers) {
  std::vector<Op> history;
  for (int i = 0; i < writers; ++i)
    history.push_back(Op::put(static_cast<uint64_t>(i), key, std::to_string(i), 0, 100));
  history.push_back(Op::get(99, key, "nobody", 200, 210));
  return history;
}

TEST(LinearizabilityTest, StepBudgetTurnsAPathologicalKeyIntoTimedOut) {
  LinearizabilityOptions options;
  options.max_steps_per_key = 20'000;
  std::vector<Op> history = pathological_history("slow", 30);
  history.push_back(Op::put(1, "fine", "a", 0, 10));
  auto result = check_kv_linearizability(history, options);
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::timed_out) << show(result);
  EXPECT_EQ(result.key, "slow");
  EXPECT_THAT(result.timed_out_keys, ElementsAre("slow"));
  EXPECT_LE(result.steps, options.max_steps_per_key + 10);

  // A violation elsewhere is definite and outranks the timeout.
  history.push_back(Op::get(2, "fine", "b", 20, 30));
  result = check_kv_linearizability(history, options);
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_EQ(result.key, "fine");
  EXPECT_THAT(result.timed_out_keys, ElementsAre("slow"));

  // With the default budget, the default also stops it rather than hanging.
  auto bounded = check_kv_linearizability(pathological_history("slow", 40));
  EXPECT_EQ(bounded.verdict, LinearizabilityVerdict::timed_out);
}

TEST(LinearizabilityTest, SmallPathologicalKeyIsSearchedExhaustively) {
  auto result = check(pathological_history("k", 8));
  EXPECT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_THAT(result.explanation, HasSubstr("(8 of 9)"));
}

TEST(LinearizabilityTest, LongViolatingKeyShowsAWindowAroundTheFailure) {
  std::vector<Op> history;
  for (int i = 0; i < 100; ++i) {
    history.push_back(Op::put(1, "k", "v" + std::to_string(i), i * 10, i * 10 + 5));
  }
  history.push_back(Op::get(2, "k", "v3", 1000, 1005));
  auto result = check(history);
  ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable) << show(result);
  EXPECT_THAT(result.explanation, HasSubstr("earlier\n"));
  EXPECT_THAT(result.explanation, HasSubstr("get() = \"v3\""));
  EXPECT_THAT(result.explanation, HasSubstr("(100 of 101): ... 80 earlier, #80"));
  EXPECT_LT(result.explanation.size(), 4000u) << result.explanation;
}

// --- histories generated by a real sequential store ---

struct GeneratorOptions {
  int clients = 5;
  int keys = 3;
  int operations = 200;
  double unknown_rate = 0.0;
  int64_t max_duration = 40;
  int64_t max_gap = 15;
};

struct GeneratedHistory {
  std::vector<Op> history;
  // Only for those with outcome ok; all successful writes wrote distinct values.
  std::vector<bool> wrote;
};

// Each client runs operations one after another; each takes effect at a
// random instant inside [call, return] on one sequential map, which fixes the
// outputs. An operation given an unknown outcome either never takes effect or
// takes effect at a random instant after its call, possibly after the client
// gave up and moved on, as a request still in flight would.
GeneratedHistory generate(uint64_t seed, const GeneratorOptions& options) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(rng); };
  auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng); };

  GeneratedHistory out;
  std::vector<int64_t> effect_at;
  std::vector<bool> takes_effect;
  std::vector<int64_t> client_time(static_cast<size_t>(options.clients));
  for (auto& t : client_time) t = uniform(0, options.max_gap);
  for (int i = 0; i < options.operations; ++i) {
    auto client = static_cast<size_t>(i % options.clients);
    int64_t call = client_time[client];
    int64_t ret = call + uniform(1, options.max_duration);
    std::string key = "key" + std::to_string(uniform(0, options.keys - 1));
    std::string value = "c" + std::to_string(client) + "." + std::to_string(i);
    int64_t kind = uniform(0, 9);
    Op op = kind < 4   ? Op::put(client, key, value, call, ret)
            : kind < 8 ? Op::get(client, key, std::nullopt, call, ret)
                       : Op::cas(client, key, std::nullopt, value, false, call, ret);
    bool effect = true;
    int64_t at = uniform(call, ret);
    if (chance(options.unknown_rate)) {
      op.outcome = KvOpOutcome::unknown;
      effect = chance(0.5);
      at = uniform(call, call + 3 * options.max_duration);
    }
    out.history.push_back(op);
    effect_at.push_back(at);
    takes_effect.push_back(effect);
    client_time[client] = ret + uniform(0, options.max_gap);
  }

  std::vector<size_t> order(out.history.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return effect_at[a] < effect_at[b]; });
  std::map<std::string, std::string> store;
  std::vector<std::string> written;
  out.wrote.assign(out.history.size(), false);
  for (size_t i : order) {
    Op& op = out.history[i];
    auto current = store.find(op.key);
    std::optional<std::string> now;
    if (current != store.end()) now = current->second;
    if (op.kind == KvOpKind::cas) {
      int64_t pick = uniform(0, 3);
      op.expected = pick < 2 ? now
                    : pick == 2 || written.empty()
                        ? std::nullopt
                        : std::optional<std::string>(
                              written[static_cast<size_t>(uniform(0, static_cast<int64_t>(written.size()) - 1))]);
    }
    if (!takes_effect[i]) continue;
    switch (op.kind) {
      case KvOpKind::put:
        store[op.key] = op.value;
        out.wrote[i] = true;
        break;
      case KvOpKind::get:
        op.read_value = now;
        break;
      case KvOpKind::cas:
        op.succeeded = op.expected == now;
        if (op.succeeded) {
          store[op.key] = op.value;
          out.wrote[i] = true;
        }
        break;
    }
    if (out.wrote[i]) written.push_back(op.value);
  }
  return out;
}

// Rewrites one completed read to return a value that was overwritten by a
// completed write before the read was called: w1 ends before w2 starts and w2
// ends before the read starts, and values are unique, so every linearization
// orders w1 < w2 < read and the read cannot see w1's value. Returns the key,
// or nullopt if the history has no such triple.
std::optional<std::string> plant_stale_read(GeneratedHistory& generated, uint64_t seed) {
  std::vector<Op>& history = generated.history;
  auto completed_write = [&](size_t i) { return generated.wrote[i] && history[i].outcome == KvOpOutcome::ok; };
  std::vector<size_t> reads;
  for (size_t i = 0; i < history.size(); ++i) {
    if (history[i].kind == KvOpKind::get && history[i].outcome == KvOpOutcome::ok) reads.push_back(i);
  }
  std::shuffle(reads.begin(), reads.end(), std::mt19937_64(seed));
  for (size_t r : reads) {
    Op& read = history[r];
    // The write that started last among those done before the read leaves
    // the most earlier writes to choose w1 from.
    std::optional<size_t> w2;
    for (size_t i = 0; i < history.size(); ++i) {
      if (completed_write(i) && history[i].key == read.key && history[i].return_time < read.call_time &&
          (!w2 || history[i].call_time > history[*w2].call_time)) {
        w2 = i;
      }
    }
    if (!w2) continue;
    for (size_t w1 = 0; w1 < history.size(); ++w1) {
      if (completed_write(w1) && history[w1].key == read.key && history[w1].return_time < history[*w2].call_time &&
          read.read_value != history[w1].value) {
        read.read_value = history[w1].value;
        return read.key;
      }
    }
  }
  return std::nullopt;
}

std::string dump(const std::vector<Op>& history) {
  std::string out;
  for (const Op& op : history) out += "  " + op.key + ": " + describe(op) + "\n";
  return out;
}

GeneratorOptions options_for_seed(uint64_t seed) {
  // Vary the shape with the seed: few or many keys, short or long overlaps.
  GeneratorOptions options;
  options.clients = 2 + static_cast<int>(seed % 5);
  options.keys = 1 + static_cast<int>(seed % 4);
  options.operations = 60 + static_cast<int>(seed % 7) * 30;
  options.unknown_rate = seed % 3 == 0 ? 0.0 : 0.05 * static_cast<double>(seed % 3);
  options.max_duration = seed % 2 == 0 ? 40 : 120;
  return options;
}

constexpr uint64_t kRandomSeeds = 400;

TEST(LinearizabilityRandomTest, HistoriesOfASequentialStoreAreLinearizable) {
  uint64_t steps = 0;
  size_t operations = 0;
  for (uint64_t seed = 1; seed <= kRandomSeeds; ++seed) {
    GeneratedHistory generated = generate(seed, options_for_seed(seed));
    auto result = check(generated.history);
    ASSERT_TRUE(result.linearizable()) << "seed=" << seed << " " << show(result) << dump(generated.history);
    steps += result.steps;
    operations += generated.history.size();
  }
  std::printf("%llu histories, %zu operations, %llu search steps\n", static_cast<unsigned long long>(kRandomSeeds),
              operations, static_cast<unsigned long long>(steps));
}

TEST(LinearizabilityRandomTest, PlantedStaleReadIsRejected) {
  int planted = 0;
  for (uint64_t seed = 1; seed <= kRandomSeeds; ++seed) {
    GeneratedHistory generated = generate(seed, options_for_seed(seed));
    std::optional<std::string> key = plant_stale_read(generated, seed);
    if (!key) continue;
    ++planted;
    auto result = check(generated.history);
    ASSERT_EQ(result.verdict, LinearizabilityVerdict::not_linearizable)
        << "seed=" << seed << " " << show(result) << dump(generated.history);
    EXPECT_THAT(result.violating_keys, ElementsAre(*key)) << "seed=" << seed;
  }
  EXPECT_GT(planted, static_cast<int>(kRandomSeeds) * 9 / 10);
}

TEST(LinearizabilityRandomTest, FiveThousandOperationsOverFiftyKeysCheckQuickly) {
  GeneratorOptions options;
  options.clients = 5;
  options.keys = 50;
  options.operations = 5000;
  options.unknown_rate = 0.02;
  GeneratedHistory generated = generate(7, options);
  auto result = check(generated.history);
  ASSERT_TRUE(result.linearizable()) << show(result);
  // "Quickly" in search steps, which every machine counts the same: a few per
  // operation (tests never depend on the wall clock).
  EXPECT_LT(result.steps, 20u * 5000u);

  ASSERT_TRUE(plant_stale_read(generated, 7));
  EXPECT_EQ(check(generated.history).verdict, LinearizabilityVerdict::not_linearizable);
}

}  // namespace
}  // namespace roster::sim
