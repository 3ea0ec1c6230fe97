#include "converter/lifecycle_format.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

namespace rehost {

namespace {

// Columns padded to their widest cell, two spaces apart; the last column is not padded.
std::string table(const std::vector<std::vector<std::string>>& rows)
{
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], widths[i]);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string machine_names(const JobRecord& job)
{
  std::string names;
  for (const auto& m : job.machines) {
    names += (names.empty() ? "" : ",") + m.name;
  }
  return names;
}

std::string last_launch_text(const MachineRecord& machine, const std::map<int64_t, JobRecord>& jobs)
{
  auto it = jobs.find(machine.last_job);
  if (it == jobs.end()) {
    return "-";
  }
  const JobRecord& job = it->second;
  std::string type = job.type == JobType::test_launch      ? "test"
                     : job.type == JobType::cutover_launch ? "cutover"
                                                           : "finalize";
  return fmt::format("{} {} (job {}, {})", type, to_token(job.status), job.id,
                     format_time(job.started_ms));
}

} // namespace

std::string format_time(int64_t ms_since_epoch)
{
  std::time_t seconds = static_cast<std::time_t>(ms_since_epoch / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", text, ms_since_epoch % 1000);
}

std::string format_duration(int64_t milliseconds)
{
  if (milliseconds < 60'000) {
    return fmt::format("{:.1f}s", milliseconds / 1000.0);
  }
  int64_t seconds = milliseconds / 1000;
  if (seconds < 3600) {
    return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  }
  return fmt::format("{}h{:02}m", seconds / 3600, (seconds % 3600) / 60);
}

std::string format_log_line(const JobLogLine& line)
{
  return fmt::format("{}  {}  {}", format_time(line.time_ms), line.machine, line.message);
}

nlohmann::json to_json(const JobLogLine& line)
{
  return {{"seq", line.seq},
          {"job", line.job},
          {"time", format_time(line.time_ms)},
          {"machine", line.machine},
          {"message", line.message}};
}

nlohmann::json to_json(const JobRecord& job)
{
  nlohmann::json machines = nlohmann::json::array();
  for (const auto& m : job.machines) {
    machines.push_back({{"name", m.name}, {"target_image", m.target_image}});
  }
  nlohmann::json j = {{"id", job.id},
                      {"type", to_token(job.type)},
                      {"status", to_token(job.status)},
                      {"machines", machines},
                      {"started", format_time(job.started_ms)},
                      {"ended", nullptr},
                      {"duration_seconds", nullptr},
                      {"exit_code", job.exit_code},
                      {"error", job.error},
                      {"pid", job.owner.pid}};
  if (job.ended_ms > 0) {
    j["ended"] = format_time(job.ended_ms);
    j["duration_seconds"] = (job.ended_ms - job.started_ms) / 1000.0;
  }
  return j;
}

nlohmann::json to_json(const MachineRecord& machine, const std::map<int64_t, JobRecord>& jobs)
{
  nlohmann::json allowed = nlohmann::json::array();
  for (auto action : allowed_actions(machine.status)) {
    allowed.push_back(describe(action));
  }
  nlohmann::json j = {{"name", machine.status.name},
                      {"volume", machine.volume},
                      {"target", machine.target},
                      {"lifecycle", to_token(machine.status.state)},
                      {"replication", to_token(machine.status.replication)},
                      {"archived", machine.status.archived == Archived::yes},
                      {"target_image", machine.target_image},
                      {"snapshot", machine.snapshot},
                      {"snapshot_method", machine.snapshot_method},
                      {"allowed_actions", allowed},
                      {"last_launch", nullptr}};
  if (auto it = jobs.find(machine.last_job); it != jobs.end()) {
    j["last_launch"] = to_json(it->second);
  }
  return j;
}

std::string jobs_table(const std::vector<JobRecord>& jobs)
{
  std::vector<std::vector<std::string>> rows = {
      {"ID", "TYPE", "STATUS", "STARTED", "DURATION", "MACHINES"}};
  for (const auto& job : jobs) {
    rows.push_back({std::to_string(job.id), to_token(job.type), to_token(job.status),
                    format_time(job.started_ms),
                    job.ended_ms > 0 ? format_duration(job.ended_ms - job.started_ms) : "-",
                    machine_names(job)});
  }
  return table(rows);
}

std::string machines_table(const std::vector<MachineRecord>& machines,
                           const std::map<int64_t, JobRecord>& jobs)
{
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "LIFECYCLE", "REPLICATION", "TARGET", "LAST LAUNCH"}};
  for (const auto& m : machines) {
    rows.push_back(
        {m.status.name,
         describe(m.status.state) + (m.status.archived == Archived::yes ? " (archived)" : ""),
         to_token(m.status.replication), m.target, last_launch_text(m, jobs)});
  }
  return table(rows);
}

} // namespace rehost
