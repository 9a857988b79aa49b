# node-gyp entry point. It holds no list of sources: it runs the one CMake build (through
# cmake-js) and copies the addon it produced. `npm run build:native` does the same directly.
{
  "targets": [
    {
      "target_name": "higgs_audio_cmake",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["build/Release/higgs_audio.node"],
          "action": ["npx", "cmake-js", "build", "--directory", ".", "--out", "build", "--parallel", "2"]
        }
      ]
    }
  ]
}
