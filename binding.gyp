# node-gyp entry point (`npx node-gyp rebuild`). It holds no list of sources: its one action runs
# the CMake build through cmake-js into build/cmake, where lib/native/loader.ts also looks for the addon.
# `npm run build:native` (build/Release) is the usual way; both run the same CMakeLists.txt.
{
  "targets": [
    {
      "target_name": "higgs_audio_cmake",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_build",
          "inputs": ["<(module_root_dir)/CMakeLists.txt"],
          "outputs": ["<(module_root_dir)/build/cmake/Release/higgs_audio.node"],
          "action": ["bash", "<(module_root_dir)/scripts/build-native.sh", "cpu",
                     "--out", "<(module_root_dir)/build/cmake"]
        }
      ]
    }
  ]
}
