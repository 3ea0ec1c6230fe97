// The machine-readable record of a run (`--report FILE`): what was found, every action with
// what it changed, validation, and how long each pass took. Written on failure too, so the
// launch pipeline can tell which step failed and why.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "converter/error.hpp"

namespace rehost {

struct FileChange {
  std::string path;
  std::string kind; // "modified", "created", "deleted"
  std::string before_sha256;
  std::string after_sha256;
  uint64_t before_size = 0;
  uint64_t after_size = 0;
  std::string diff; // unified diff for text files, "" for binary files
};

struct CommandRun {
  std::vector<std::string> argv;
  int exit_status = 0;
  double seconds = 0;
  std::string output; // the last lines
};

struct ActionRecord {
  std::string rule;
  std::string type;
  std::string location; // "rules/linux-debian.yaml:12:5"
  std::string summary;  // one line for humans
  std::vector<FileChange> changes;
  std::vector<CommandRun> commands;
  std::vector<std::string> notes;
  nlohmann::json details = nlohmann::json::object(); // e.g. the initramfs listing
  std::vector<std::string> warnings;                 // also the report's warnings
};

struct Check {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct BootTestResult {
  bool ran = false;
  bool passed = false;
  double seconds = 0;
  std::string reason;   // "login prompt reached", "kernel panic: ..."
  std::string log_file; // serial console log
  std::string devices;  // "nvme disk, no NIC"
};

struct PassTiming {
  std::string name;
  double seconds = 0;
};

struct Report {
  std::string command;
  std::string source;
  std::string output;
  std::string target;
  std::string backend;           // "native", "guestfs"
  std::string status = "failed"; // "ok", "failed"
  int exit_code = 0;
  std::string error;
  std::string failed_pass;
  std::optional<nlohmann::json> inspection;
  std::vector<std::string> rules; // ids of the rules that matched
  std::vector<ActionRecord> actions;
  std::vector<Check> checks;
  BootTestResult boot_test;
  std::vector<PassTiming> passes;
  std::vector<std::string> warnings;
  int appliance_launches = 0;
  uint64_t output_bytes = 0;
  uint64_t peak_rss_bytes = 0; // of rehost itself (VmHWM), not of its appliance or children

  bool validation_passed() const;
  nlohmann::json to_json() const;
};

// Writes the report atomically (temporary file, then rename).
Result<void> write_report(const Report& report, const std::string& path);

// The human summary printed at the end of `convert`.
std::string summary_text(const Report& report);

} // namespace rehost
