// Linux guest fixtures (tests/fixtures/linux/, format in its README): building one as a
// directory tree and checking an inspection against its expectations.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rehost::test {

struct Expectation {
  std::string key; // "os.id", "kernels.0.drivers.nvme"
  std::string value;
  int line = 0;
};

struct Fixture {
  std::vector<Expectation> expect;
  std::vector<std::string> problems; // lines of the fixture that could not be understood
};

// Builds the guest described by `text` under `root` (created).
Fixture build_fixture(const std::string& text, const std::filesystem::path& root);

// Every tests/fixtures/linux/*.guest, sorted.
std::vector<std::filesystem::path> linux_fixture_files();

// The file's text.
std::string read_fixture(const std::filesystem::path& path);

// One message per expectation `inspection` (the JSON of `rehost inspect`) does not meet; keys
// starting with one of `skip` are not checked.
std::vector<std::string> fixture_mismatches(const nlohmann::json& inspection,
                                            const std::vector<Expectation>& expect,
                                            const std::vector<std::string>& skip = {});

} // namespace rehost::test
