// The lifecycle state store: source machines, jobs and their progress logs, in one SQLite
// database (STATE_DIR/state.db).
//
// Several rehost processes may use one store at once (a launch running while someone lists
// jobs, two launches of different machines). The database is in WAL mode, so readers never wait
// for the writer; writers queue behind a busy timeout; every change that reads a state and
// writes the next one runs in one immediate transaction, so two processes cannot both move the
// same machine. A job records the process that runs it (PID, start time, boot id): a job whose
// process no longer exists was killed, and recover_dead_jobs() marks it failed and moves its
// machines back to the state they had before it. Every command that opens the store runs it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "converter/error.hpp"
#include "converter/lifecycle.hpp"

struct sqlite3;

namespace rehost {

// The process that runs a job: enough to tell later whether it still exists (a PID alone may
// have been reused).
struct ProcessOwner {
  int pid = 0;
  uint64_t start_ticks = 0; // field 22 of /proc/PID/stat
  std::string boot_id;      // /proc/sys/kernel/random/boot_id
};

// This process.
ProcessOwner current_process_owner();

// Whether `owner` still runs (same boot, same PID, same start time, not a zombie).
bool owner_alive(const ProcessOwner& owner);

// Milliseconds since the Unix epoch.
int64_t now_ms();

struct MachineRecord {
  MachineStatus status;        // name, lifecycle state, replication, archived
  std::string volume;          // absolute path of the replica (image file or block device)
  std::string target;          // target platform
  std::string target_image;    // the last launched target, "" when there is none
  std::string snapshot;        // the staging snapshot behind target_image (or left by a failure)
  std::string snapshot_method; // how it was made (snapshot.hpp), to know how to remove it
  int64_t last_job = 0;
  int64_t added_ms = 0;
};

enum class JobType { test_launch, cutover_launch, finalize };
enum class JobStatus { running, succeeded, failed };

std::string to_token(JobType type);
std::string to_token(JobStatus status);

struct JobMachine {
  std::string name;
  LifecycleState from_state = LifecycleState::not_ready; // before the job; restored on failure
  std::string target_image;                              // what the job launched
};

struct JobRecord {
  int64_t id = 0;
  JobType type = JobType::test_launch;
  JobStatus status = JobStatus::running;
  std::vector<JobMachine> machines;
  int64_t started_ms = 0;
  int64_t ended_ms = 0; // 0 while running
  int exit_code = 0;
  std::string error;
  ProcessOwner owner;
};

struct JobLogLine {
  int64_t seq = 0; // increases across the whole store; resume reading after it
  int64_t job = 0;
  int64_t time_ms = 0;
  std::string machine;
  std::string message;
};

struct RecoveredJob {
  int64_t id = 0;
  int pid = 0;
  std::vector<std::string> machines;
};

class StateStore {
public:
  // Opens (creating the directory and database when missing) STATE_DIR/state.db, in WAL mode
  // with a busy timeout. An error names the file and what to do.
  static Result<StateStore> open(const std::string& directory);
  ~StateStore();
  StateStore(StateStore&& other) noexcept;
  StateStore& operator=(StateStore&& other) noexcept;
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  const std::string& directory() const { return m_directory; }
  const std::string& path() const { return m_path; }

  // Runs `body` in an immediate transaction (the write lock is taken first, so what it reads
  // stays true until it commits); rolls back when `body` fails or throws.
  Result<void> transaction(const std::function<Result<void>()>& body);

  Result<std::vector<MachineRecord>> machines();
  Result<std::optional<MachineRecord>> machine(const std::string& name);
  // An error when a machine of that name exists.
  Result<void> insert_machine(const MachineRecord& machine);
  Result<void> update_machine(const MachineRecord& machine);

  // A new running job owned by `owner`; returns its id.
  Result<int64_t> insert_job(JobType type, const std::vector<JobMachine>& machines,
                             const ProcessOwner& owner);
  // Ends a job; `target_image` is recorded for each of its machines when not empty.
  Result<void> finish_job(int64_t id, JobStatus status, int exit_code, const std::string& error,
                          const std::string& target_image);
  // All jobs, oldest first.
  Result<std::vector<JobRecord>> jobs();
  Result<std::optional<JobRecord>> job(int64_t id);

  // Appends a timestamped line to a job's progress log.
  Result<void> append_log(int64_t job, const std::string& machine, const std::string& message);
  // The lines of `job` after `after_seq` (0: all), oldest first.
  Result<std::vector<JobLogLine>> log_lines(int64_t job, int64_t after_seq);

  // Marks every running job whose process is gone as failed (with a log line saying so) and
  // moves its machines that are still in the job's "in progress" state back to the state they
  // had before it.
  Result<std::vector<RecoveredJob>> recover_dead_jobs();

private:
  StateStore() = default;
  Result<void> exec(const char* sql);
  // "state store PATH: MESSAGE".
  std::unexpected<Error> fail_db(const std::string& message) const;

  sqlite3* m_db = nullptr;
  std::string m_directory;
  std::string m_path;
  int m_depth = 0; // nesting of transaction()
};

// The state directory: `option` (--state-dir) if set, else $REHOST_STATE_DIR, else
// $XDG_DATA_HOME/rehost, else ~/.local/share/rehost.
std::string resolve_state_dir(const std::string& option);

} // namespace rehost
