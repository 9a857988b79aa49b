// The few path operations the loader needs, on plain POSIX calls. Why not std::filesystem:
// libtorch 2.x wheels export their own copies of some std::filesystem symbols, and a program
// linked against them can call into a broken copy (remove_all crashed that way on a GPU machine).
#pragma once

#include <string>
#include <vector>

namespace higgs::io {

bool is_regular_file(const std::string& path);  // follows symlinks, like stat(2)
bool is_directory(const std::string& path);
std::vector<std::string> list_directory(const std::string& dir);  // names, without . and ..
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace higgs::io
