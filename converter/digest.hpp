// SHA-256 digests of guest and host files, for the report and the tests.
#pragma once

#include <string>

#include "converter/error.hpp"

namespace rehost {

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(const std::string& data);

// Lower-case hex SHA-256 of a host file's contents.
Result<std::string> sha256_file(const std::string& path);

} // namespace rehost
