// Precompiled header for the core, the bench and the native tests: ATen dominates compile time.
#pragma once
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
