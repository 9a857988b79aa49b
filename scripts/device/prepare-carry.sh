#!/usr/bin/env bash
# Fills .carry/ (ignored by git) with what gpu-check.sh needs on a GPU machine that has none of
# our Debian packages and no Node: the header-only nlohmann/json and the tiny tokenizer.json
# (made by the Node fixture script). Pass `.carry` in the device tool's `carry` list.
# The audio-file module's libraries (libsndfile, libsoxr, librubberband) are not carried: CMake
# builds without the module there and leaves out the test_audio* tests, which run here and in CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .carry
mkdir -p .carry/include
cp -r /usr/include/nlohmann .carry/include/
node scripts/fixtures/make-tiny.mjs test/fixtures/tiny >/dev/null
cp test/fixtures/tiny/tokenizer.json .carry/tokenizer.json
du -sh .carry
