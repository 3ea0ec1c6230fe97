#include "converter/report.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace rehost {

bool Report::validation_passed() const
{
  for (const auto& c : checks) {
    if (!c.passed) {
      return false;
    }
  }
  return !checks.empty() && (!boot_test.ran || boot_test.passed);
}

nlohmann::json Report::to_json() const
{
  using nlohmann::json;
  json actions_json = json::array();
  for (const auto& a : actions) {
    json changes = json::array();
    for (const auto& c : a.changes) {
      changes.push_back({{"path", c.path},
                         {"kind", c.kind},
                         {"before_sha256", c.before_sha256},
                         {"after_sha256", c.after_sha256},
                         {"before_size", c.before_size},
                         {"after_size", c.after_size},
                         {"diff", c.diff}});
    }
    json commands = json::array();
    for (const auto& c : a.commands) {
      commands.push_back({{"argv", c.argv},
                          {"exit_status", c.exit_status},
                          {"seconds", c.seconds},
                          {"output", c.output}});
    }
    actions_json.push_back({{"rule", a.rule},
                            {"type", a.type},
                            {"location", a.location},
                            {"summary", a.summary},
                            {"changes", changes},
                            {"commands", commands},
                            {"notes", a.notes},
                            {"details", a.details}});
  }
  json checks_json = json::array();
  for (const auto& c : checks) {
    checks_json.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
  }
  json passes_json = json::array();
  double total = 0;
  for (const auto& p : passes) {
    passes_json.push_back({{"name", p.name}, {"seconds", p.seconds}});
    total += p.seconds;
  }
  json j = {
      {"rehost_version", REHOST_VERSION},
      {"command", command},
      {"source", source},
      {"output", output.empty() ? json(nullptr) : json(output)},
      {"target", target},
      {"backend", backend},
      {"status", status},
      {"exit_code", exit_code},
      {"error", error.empty() ? json(nullptr) : json(error)},
      {"failed_pass", failed_pass.empty() ? json(nullptr) : json(failed_pass)},
      {"inspection", inspection ? *inspection : json(nullptr)},
      {"rules", rules},
      {"actions", actions_json},
      {"validation",
       {{"passed", validation_passed()},
        {"checks", checks_json},
        {"boot_test", boot_test.ran ? json{{"passed", boot_test.passed},
                                           {"seconds", boot_test.seconds},
                                           {"reason", boot_test.reason},
                                           {"log_file", boot_test.log_file},
                                           {"devices", boot_test.devices}}
                                    : json(nullptr)}}},
      {"passes", passes_json},
      {"total_seconds", total},
      {"appliance_launches", appliance_launches},
      {"output_bytes", output_bytes},
      {"peak_rss_bytes", peak_rss_bytes},
      {"warnings", warnings},
  };
  return j;
}

Result<void> write_report(const Report& report, const std::string& path)
{
  std::string temp = path + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(temp);
    if (!out) {
      return fail("{}: cannot write the report", path);
    }
    // Guest text may hold invalid UTF-8: replaced, never an exception.
    out << report.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    if (!out) {
      std::remove(temp.c_str());
      return fail("{}: cannot write the report", path);
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::remove(temp.c_str());
    return fail("{}: cannot write the report: {}", path, ec.message());
  }
  return {};
}

std::string summary_text(const Report& r)
{
  std::string out;
  out += fmt::format("Converted {} for {}:\n", r.source, r.target);
  for (const auto& a : r.actions) {
    if (!a.summary.empty()) {
      out += "  - " + a.summary + "\n";
    }
  }
  int passed = 0;
  for (const auto& c : r.checks) {
    passed += c.passed ? 1 : 0;
  }
  out += fmt::format("Validation: {} of {} checks passed", passed, r.checks.size());
  if (r.boot_test.ran) {
    out += fmt::format("; boot test {} ({}, {:.0f} s)", r.boot_test.passed ? "passed" : "FAILED",
                       r.boot_test.reason, r.boot_test.seconds);
  }
  out += "\n";
  if (r.status == "ok") {
    out += fmt::format("Output: {}\n", r.output);
  }
  return out;
}

} // namespace rehost
