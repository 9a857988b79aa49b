// Generation building blocks: delay pattern, RAS, logits processors, counter-based sampling.
#include <ATen/ATen.h>

#include "check.h"
#include "errors.h"
#include "lm/delay_pattern.h"
#include "lm/generator.h"
#include "lm/sampling.h"
#include "lm_test_util.h"

using namespace higgs;
using namespace higgs::lm;
using namespace higgs::test;

namespace {

constexpr std::int64_t B = 1024, E = 1025, V = 1026;

// Logits [8, V] whose argmax per codebook is `column` (the "sampled" codes a step would pick).
at::Tensor logits_for(const Column& column) {
  auto logits = at::randn({8, V}, at::kFloat);
  for (int k = 0; k < 8; ++k) logits[k][column[k]] = 50.0;
  return logits;
}

// Drives DelayPattern with greedy draws from synthetic logits; returns the final columns.
std::vector<Column> drive(const std::vector<Column>& sampled, bool* ended_at_last) {
  DelayPattern delay(8, B, E);
  SamplingParams greedy;
  greedy.temperature = 0;
  std::vector<Column> columns{delay.first_column()};
  bool ended = false;
  for (const auto& s : sampled) {
    auto codes = sample_rows(logits_for(s), greedy, 0);
    Column c(codes.data_ptr<std::int64_t>(), codes.data_ptr<std::int64_t>() + 8);
    ended = delay.apply(c);
    columns.push_back(c);
    if (ended) break;
  }
  *ended_at_last = ended;
  return columns;
}

Column col(std::initializer_list<std::int64_t> v) { return Column(v); }
Column fill(std::int64_t v) { return Column(8, v); }

}  // namespace

HIGGS_TEST(delay_ramp_in_and_ramp_out_with_eos_first_on_codebook_0) {
  // 12 sampled columns of data (codes 10+s), eos sampled on codebook 0 at column 13.
  std::vector<Column> sampled;
  for (int s = 1; s <= 12; ++s) sampled.push_back(fill(10 + s));
  for (int s = 0; s < 10; ++s) sampled.push_back(fill(E));  // the model keeps saying eos
  bool ended = false;
  auto columns = drive(sampled, &ended);
  HIGGS_CHECK(ended);
  HIGGS_CHECK_MSG(columns.size() == 21, "columns " << columns.size());  // 0..12, eos at 13, ends at 20
  HIGGS_CHECK(columns[0] == fill(B));
  // Ramp-in: column s has codebooks >= s forced to bos.
  for (int s = 1; s < 8; ++s) {
    for (int k = 0; k < 8; ++k) HIGGS_CHECK(columns[s][k] == (k < s ? 10 + s : B));
  }
  HIGGS_CHECK(columns[8] == fill(18));
  // Ramp-out: column 13 holds the first eos (codebook 0); column 13+j has codebooks <= j at eos.
  for (int j = 0; j < 8; ++j) {
    for (int k = 0; k <= j && k < 8; ++k) HIGGS_CHECK(columns[13 + j][k] == E);
  }
  std::int64_t frames = 0;
  auto codes = revert_and_trim(columns, 8, 1023, &frames);
  HIGGS_CHECK_MSG(frames == 21 - 9, "frames " << frames);
  // Row k of output frame t is column t+1+k, codebook k: data codes 10 + (t+1+k) for t+1+k <= 12.
  for (std::int64_t t = 0; t < frames; ++t) {
    for (int k = 0; k < 8; ++k) {
      const auto c = t + 1 + k;
      const std::int64_t expected = c <= 12 ? 10 + c : 1023;  // eos clipped to 1023
      HIGGS_CHECK_MSG(codes[k * frames + t] == expected, "frame " << t << " codebook " << k);
    }
  }
}

HIGGS_TEST(delay_ramp_out_when_eos_first_appears_on_a_later_codebook) {
  std::vector<Column> sampled;
  for (int s = 1; s <= 10; ++s) sampled.push_back(fill(100 + s));
  sampled.push_back(col({5, 6, 7, E, 9, 10, 11, 12}));  // column 11: eos on codebook 3 first
  for (int s = 0; s < 10; ++s) sampled.push_back(fill(300 + s));  // never eos again
  bool ended = false;
  auto columns = drive(sampled, &ended);
  HIGGS_CHECK(ended);
  // Codebooks below 3 are forced to eos at once; the counter is 8-3-1 = 4.
  HIGGS_CHECK(columns[11] == col({E, E, E, E, 9, 10, 11, 12}));
  for (int j = 1; j <= 4; ++j) {
    // counter 4,3,2,1 -> codebooks 0..(8-counter-1) forced.
    const int forced = 8 - (4 - (j - 1));
    for (int k = 0; k < 8; ++k) {
      if (k < forced) HIGGS_CHECK_MSG(columns[11 + j][k] == E, "column " << 11 + j << " codebook " << k);
      else HIGGS_CHECK(columns[11 + j][k] == 300 + (j - 1));
    }
  }
  HIGGS_CHECK_MSG(columns.size() == 16, "columns " << columns.size());  // ends at column 15
}

HIGGS_TEST(delay_ramp_out_on_the_last_codebook_ends_at_once) {
  std::vector<Column> sampled;
  for (int s = 1; s <= 9; ++s) sampled.push_back(fill(50));
  sampled.push_back(col({1, 2, 3, 4, 5, 6, 7, E}));
  bool ended = false;
  auto columns = drive(sampled, &ended);
  HIGGS_CHECK(ended && columns.size() == 11);
  HIGGS_CHECK(columns[10] == fill(E));
}

HIGGS_TEST(revert_of_a_short_segment_gives_no_frames) {
  std::vector<Column> columns(8, fill(B));
  std::int64_t frames = -1;
  auto codes = revert_and_trim(columns, 8, 1023, &frames);
  HIGGS_CHECK(frames == 0 && codes.empty());
}

HIGGS_TEST(ras_fires_exactly_when_the_window_count_reaches_the_maximum) {
  // History of 9 columns; window 7 sees columns 2..8.
  std::vector<Column> history(9, fill(0));
  history[0][0] = 77;  // outside the window: must not count
  history[1][0] = 77;
  history[5][0] = 77;  // one occurrence in the window
  history[3][1] = 88;
  history[8][1] = 88;  // two occurrences, the newest column included
  Column chosen = fill(1);
  chosen[0] = 77;
  chosen[1] = 88;
  auto rows = ras_rows(history, chosen, 7, 2);
  HIGGS_CHECK(!rows[0]);  // 1 < 2
  HIGGS_CHECK(rows[1]);   // 2 >= 2
  for (int k = 2; k < 8; ++k) HIGGS_CHECK(!rows[k]);  // code 1 never occurs
  HIGGS_CHECK(ras_rows(history, chosen, 7, 3)[1] == false);
  HIGGS_CHECK(ras_rows(history, chosen, 0, 1)[1] == false);  // window 0 disables RAS
  HIGGS_CHECK(ras_rows(history, chosen, 9, 3)[0] == true);   // a wider window sees all three
}

HIGGS_TEST(top_k_keeps_ties_at_the_kth_value) {
  auto logits = at::tensor({1.0f, 5.0f, 3.0f, 3.0f, 0.0f, 3.0f}, at::kFloat).view({1, 6});
  SamplingParams p;
  p.top_k = 2;
  auto kept = process_logits(logits, p).isfinite()[0];
  // 5 and every 3 survive (the 2nd largest value is 3).
  std::vector<bool> expected{false, true, true, true, false, true};
  for (int i = 0; i < 6; ++i) HIGGS_CHECK_MSG(kept[i].item<bool>() == expected[i], "index " << i);
}

HIGGS_TEST(top_p_keeps_the_smallest_set_reaching_p) {
  // probabilities 0.5, 0.25, 0.125, 0.125 (log space)
  auto logits = at::log(at::tensor({0.125f, 0.5f, 0.125f, 0.25f}, at::kFloat)).view({1, 4});
  SamplingParams p;
  p.top_p = 0.7;  // 0.5 + 0.25 = 0.75 >= 0.7: keep indices 1 and 3
  auto kept = process_logits(logits, p).isfinite()[0];
  HIGGS_CHECK(!kept[0].item<bool>() && kept[1].item<bool>() && !kept[2].item<bool>() && kept[3].item<bool>());
  // Ties at the boundary: with p = 0.8 the cumulative mass from below is 0.125, 0.25 (<= 0.2?
  // no: only the first 0.125 is <= 1 - 0.8), so exactly one of the two 0.125 tokens is removed:
  // the one that sorts first in a stable ascending sort, index 0.
  p.top_p = 0.8;
  kept = process_logits(logits, p).isfinite()[0];
  HIGGS_CHECK(!kept[0].item<bool>() && kept[1].item<bool>() && kept[2].item<bool>() && kept[3].item<bool>());
  p.top_p = 0.01;  // the top token always stays
  kept = process_logits(logits, p).isfinite()[0];
  HIGGS_CHECK(kept.sum().item<std::int64_t>() == 1 && kept[1].item<bool>());
}

HIGGS_TEST(temperature_scales_and_zero_is_greedy) {
  auto logits = at::tensor({1.0f, 2.0f, 4.0f}, at::kFloat).view({1, 3});
  SamplingParams p;
  p.temperature = 2.0;
  HIGGS_CHECK(at::allclose(process_logits(logits, p), logits / 2.0));
  p.temperature = 0;
  for (int step = 0; step < 20; ++step) HIGGS_CHECK(sample_rows(logits, p, step)[0].item<std::int64_t>() == 2);
}

HIGGS_TEST(counter_noise_is_a_pure_function_of_seed_step_row_token) {
  auto u = counter_uniform(42, 3, NoiseStream::Sample, 8, 1026, at::kCPU);
  auto again = counter_uniform(42, 3, NoiseStream::Sample, 8, 1026, at::kCPU);
  HIGGS_CHECK(at::equal(u, again));
  HIGGS_CHECK(u.min().item<double>() > 0 && u.max().item<double>() < 1);
  HIGGS_CHECK(!at::equal(u, counter_uniform(43, 3, NoiseStream::Sample, 8, 1026, at::kCPU)));
  HIGGS_CHECK(!at::equal(u, counter_uniform(42, 4, NoiseStream::Sample, 8, 1026, at::kCPU)));
  HIGGS_CHECK(!at::equal(u, counter_uniform(42, 3, NoiseStream::RasResample, 8, 1026, at::kCPU)));
  // The tensor hash equals the scalar one.
  std::uint32_t base = hash32(42u);
  base = hash32(base ^ 0u);
  base = hash32(base ^ 3u);
  base = hash32(base ^ 0u);
  const std::uint32_t h = hash32(hash32(base ^ 5u) ^ 17u);
  HIGGS_CHECK(u[5][17].item<double>() == (static_cast<double>(h) + 0.5) / 4294967296.0);
  // Roughly uniform.
  HIGGS_CHECK(std::abs(u.mean().item<double>() - 0.5) < 0.01);
}

HIGGS_TEST(gumbel_max_draws_follow_the_softmax) {
  auto logits = at::log(at::tensor({0.1f, 0.6f, 0.3f}, at::kFloat)).view({1, 3});
  SamplingParams p;
  p.seed = 9;
  std::vector<int> counts(3, 0);
  const int n = 6000;
  for (int step = 0; step < n; ++step) counts[sample_rows(logits, p, step)[0].item<std::int64_t>()]++;
  HIGGS_CHECK_MSG(std::abs(counts[0] / double(n) - 0.1) < 0.02, counts[0]);
  HIGGS_CHECK_MSG(std::abs(counts[1] / double(n) - 0.6) < 0.02, counts[1]);
  HIGGS_CHECK_MSG(std::abs(counts[2] / double(n) - 0.3) < 0.02, counts[2]);
}
