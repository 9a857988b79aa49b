// What the engine's LM thread drives for continuous batching: S slots, each holding at most one
// generation, advanced together one column per step(). Two kinds: SlotBatch (eager decode, host
// sampling, lm/slot_batch.h) and DeviceSlotBatch (static/graph decode, the rows' state on the
// device, lm/device_slot_batch.h). Either way generations join a free slot between steps (their
// prompt prefilled one piece per step while the others decode) and leave as they stop, are
// cancelled or fail, without touching the other rows.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <string>

#include "lm/generator.h"

namespace higgs::lm {

// How a step of several rows is computed (docs/architecture.md#continuous-batching):
//  - RowExact: each row as at batch 1, so a request's codes never depend on what runs beside it,
//    on its slot or on the batch size. Waiting is shared; compute is not.
//  - Fast: the rows' projections, MLPs and head as one GEMM (each weight read once per step for
//    all of them). Same request, same slot, same neighbours: same codes; but the GEMMs'
//    reduction order may change with the batch size, so a row can differ from its solo run.
enum class BatchMode { RowExact, Fast };
const char* batch_mode_name(BatchMode mode);
BatchMode parse_batch_mode(const std::string& name);  // "exact" or "fast"; else E_INPUT

class GenerationBatch {
 public:
  // How a finished row reports: its output, or the error that ended it (E_CANCELLED, ...).
  using Done = std::function<void(std::exception_ptr error, GenerationOutput* output)>;

  virtual ~GenerationBatch() = default;
  virtual std::int64_t slots() const = 0;
  virtual std::int64_t busy() const = 0;  // slots holding a generation
  bool full() const { return busy() == slots(); }
  virtual BatchMode mode() const = 0;
  virtual bool prefilling() const = 0;  // some admitted row's prompt is not all in its cache yet

  // Puts the generation into the lowest free slot (there must be one); its prompt is prefilled
  // by the next steps. A generation cancelled before it started reports through `done` at once.
  virtual void admit(GenerationInput input, GenerationCallbacks callbacks, Done done) = 0;

  // One prefill piece (kPrefillPiece positions) of the earliest admitted row still prefilling,
  // then one column for every row that is decoding; rows that stop, fail or are cancelled
  // retire and report. Returns the number of rows that decoded (the live batch size).
  virtual std::int64_t step() = 0;
};

}  // namespace higgs::lm
