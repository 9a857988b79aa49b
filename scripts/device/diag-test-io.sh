set -x
ulimit -a | head -20
TP=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')
ls $TP/include | head -30; find $TP/include -name json.hpp | head
g++ --version | head -1
g++ -std=c++17 -O3 -g -Inative/core -Inative/tests -I.carry/include native/core/errors.cc native/core/io/*.cc native/tests/check_main.cc native/tests/test_io.cc -o /tmp/tio && /tmp/tio | tail -3
g++ -std=c++17 -O1 -g -fsanitize=address,undefined -Inative/core -Inative/tests -I.carry/include native/core/errors.cc native/core/io/*.cc native/tests/check_main.cc native/tests/test_io.cc -o /tmp/tio_asan && /tmp/tio_asan 2>&1 | tail -30
cmake -S . -B build-gpu -G Ninja -DCMAKE_PREFIX_PATH=$TP/share/cmake -DHIGGS_BUILD_ADDON=OFF -DNLOHMANN_JSON_INCLUDE_DIR=$PWD/.carry/include -DTORCH_CUDA_ARCH_LIST=9.0 > /tmp/cfg.log 2>&1 || tail -20 /tmp/cfg.log
cmake --build build-gpu -j16 --target test_io > /tmp/b.log 2>&1 || tail -30 /tmp/b.log
build-gpu/test_io 2>&1 | tail -8
cuda-gdb -batch -ex run -ex bt build-gpu/test_io 2>&1 | tail -30
