// The subcommands. Each returns the process exit code, or throws Fatal.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

struct CommonOptions {
  std::vector<std::string> rules_dirs;        // after the built-in rules, in order
  std::string backend = "auto";               // "auto", "native", "guestfs"
  std::chrono::seconds command_timeout{1800}; // a guest command running longer is stopped
  std::string state_dir;                      // --state-dir; "" for the default (resolve_state_dir)
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
  std::string flatten_format;     // "" keeps the overlay
  std::string drivers;            // Windows driver packages; "" for the target profile's
  std::string packages_dir;       // where install_packages finds relative package directories
  bool keep_network = false;      // keep static addresses and interface names (docs/network.md)
  bool discard_hive_logs = false; // edit hives whose transaction logs hold changes they lack
  std::string initramfs = "auto"; // auto, rebuild, repack (docs/initramfs.md)
};

struct ValidateOptions {
  std::string image;
  std::string target;
  std::string report;
  std::string root;
  bool boot_test = false;
  std::chrono::seconds boot_timeout{600};
};

struct PlanOptions {
  std::string source;
  std::string target;
  std::string root;
  std::string drivers;      // as ConvertOptions::drivers
  std::string packages_dir; // as ConvertOptions::packages_dir
  bool keep_network = false;
  bool discard_hive_logs = false;
  std::string initramfs = "auto";
  bool json = false;
};

struct ExplainOptions {
  std::string source;
  std::string target;
  std::string root;
};

int run_inspect(const CommonOptions& common, const InspectOptions& options);
int run_convert(const CommonOptions& common, const ConvertOptions& options);
int run_validate(const CommonOptions& common, const ValidateOptions& options);
int run_targets(const CommonOptions& common);
// `plan`: the conversion on a throwaway overlay; prints every action and the diff of every file.
int run_plan(const CommonOptions& common, const PlanOptions& options);
// `rules list`: every effective rule and where it came from.
int run_rules_list(const CommonOptions& common);
// `rules lint [PATH...]`: every problem as file:line:column: message; non-zero on any.
int run_rules_lint(const CommonOptions& common, const std::vector<std::string>& paths);
// `rules explain`: which rules match SOURCE for a target, and why the others do not.
int run_rules_explain(const CommonOptions& common, const ExplainOptions& options);

} // namespace rehost
