#include "codec/snake.h"

namespace higgs::codec {

at::Tensor Snake::forward(const at::Tensor& x) const {
  // In place on one temporary: sin(alpha x) -> ^2 -> * inv_alpha -> + x. Multiplication and
  // addition commute exactly in IEEE arithmetic, so this rounds like the reference expression.
  at::Tensor y = at::sin(alpha * x);
  y.mul_(y);
  y.mul_(inv_alpha);
  y.add_(x);
  return y;
}

Snake load_snake(const CodecWeights& w, const std::string& prefix, std::int64_t channels) {
  Snake snake;
  snake.alpha = w.get(prefix + ".alpha", {1, channels, 1});
  snake.inv_alpha = (snake.alpha + 1e-9).reciprocal();
  return snake;
}

}  // namespace higgs::codec
