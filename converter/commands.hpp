// The subcommands. Each returns the process exit code, or throws Fatal.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

struct CommonOptions {
  std::vector<std::string> rules_dirs; // after the built-in rules, in order
  std::string backend = "auto";        // "auto", "native", "guestfs"
  std::string state_dir;               // --state-dir; "" for the default (resolve_state_dir)
};

struct InspectOptions {
  std::string source;
  std::string root;
  bool json = false;
};

struct ConvertOptions {
  std::string source;
  std::string target;
  std::string output;
  std::string report;
  std::string root;
  bool boot_test = false;
  std::chrono::seconds boot_timeout{600};
  bool force = false;
  std::string flatten_format; // "" keeps the overlay
};

struct ValidateOptions {
  std::string image;
  std::string target;
  std::string report;
  std::string root;
  bool boot_test = false;
  std::chrono::seconds boot_timeout{600};
};

int run_inspect(const CommonOptions& common, const InspectOptions& options);
int run_convert(const CommonOptions& common, const ConvertOptions& options);
int run_validate(const CommonOptions& common, const ValidateOptions& options);
int run_targets(const CommonOptions& common);

} // namespace rehost
