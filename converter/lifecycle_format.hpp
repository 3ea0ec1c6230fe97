// How machines, jobs and job progress logs are shown: text tables for people, JSON for scripts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "converter/state_store.hpp"

namespace rehost {

// "2024-05-01T12:00:00.123Z" (UTC, milliseconds).
std::string format_time(int64_t ms_since_epoch);

// "42.1s", "3m05s", "2h01m".
std::string format_duration(int64_t milliseconds);

// One line of a job's progress log: "2024-05-01T12:00:00.123Z  web1  Started taking snapshot".
std::string format_log_line(const JobLogLine& line);

// {"seq", "job", "time", "machine", "message"}.
nlohmann::json to_json(const JobLogLine& line);

// {"id", "type", "status", "machines": [{"name", "target_image"}], "started", "ended",
// "duration_seconds", "exit_code", "error", "pid"}; ended and duration are null while running.
nlohmann::json to_json(const JobRecord& job);

// {"name", "volume", "target", "lifecycle", "replication", "archived", "target_image",
// "snapshot", "snapshot_method", "allowed_actions", "last_launch"}; last_launch is the job
// `last_job` names (from `jobs`), or null.
nlohmann::json to_json(const MachineRecord& machine, const std::map<int64_t, JobRecord>& jobs);

// The `rehost jobs` table: one line per job, with a header.
std::string jobs_table(const std::vector<JobRecord>& jobs);

// The `rehost machines` table: one line per machine, with a header.
std::string machines_table(const std::vector<MachineRecord>& machines,
                           const std::map<int64_t, JobRecord>& jobs);

} // namespace rehost
