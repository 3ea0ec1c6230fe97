// The lifecycle subcommands: source machines, launches, jobs, finalize, archive. Each opens the
// state store (common.state_dir, see resolve_state_dir), first marks the jobs of processes that
// died as failed, and returns the exit code or throws Fatal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "converter/commands.hpp"

namespace rehost {

enum class OutputFormat { text, json };

struct MachinesAddOptions {
  std::string name;
  std::string volume;
  std::string target = "aws-nitro";
};

struct MachinesListOptions {
  bool archived = false; // list the archived machines instead of the others
  OutputFormat format = OutputFormat::text;
};

struct ReplicationOptions {
  std::string name;
  std::string state; // initial-sync, continuous, stalled
};

struct LaunchOptions {
  std::vector<std::string> names;
  std::string mode; // test, cutover
  bool all_ready = false;
  int parallel = 1;
  bool boot_test = false;
  std::chrono::seconds boot_timeout{600};
};

struct JobsOptions {
  OutputFormat format = OutputFormat::text;
};

struct JobLogOptions {
  int64_t id = 0;
  bool follow = false;
  OutputFormat format = OutputFormat::text;
};

// `rehost machines add NAME --volume PATH [--target T]`: registers a replicated boot volume.
int run_machines_add(const CommonOptions& common, const MachinesAddOptions& options);
// `rehost machines [--archived] [--json]`: the machines with their states and last launch.
int run_machines_list(const CommonOptions& common, const MachinesListOptions& options);
// `rehost machines replication NAME STATE`: what the replicator reports.
int run_machines_replication(const CommonOptions& common, const ReplicationOptions& options);
// `rehost launch NAME... --mode test|cutover [--all-ready] [--parallel N] [--boot-test]`.
int run_launch(const CommonOptions& common, const LaunchOptions& options);
// `rehost jobs [--json]`.
int run_jobs(const CommonOptions& common, const JobsOptions& options);
// `rehost job log ID [--follow] [--json]`.
int run_job_log(const CommonOptions& common, const JobLogOptions& options);
// `rehost finalize NAME`: removes the staging snapshots, replication becomes disconnected.
int run_finalize(const CommonOptions& common, const std::string& name);
// `rehost archive NAME`: hides a finalized machine from the default list.
int run_archive(const CommonOptions& common, const std::string& name);

// Whether `name` can name a machine: 1 to 64 letters, digits, '.', '_' or '-', starting with a
// letter or digit (it becomes part of file and volume names).
bool valid_machine_name(const std::string& name);

} // namespace rehost
