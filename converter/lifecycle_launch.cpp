#include "converter/lifecycle_launch.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "converter/process.hpp"
#include "converter/snapshot.hpp"
#include "converter/state_store.hpp"

namespace rehost {

namespace fs = std::filesystem;

std::string StateLayout::staging(const std::string& machine) const
{
  return (fs::path(root) / "staging" / machine).string();
}

std::string StateLayout::targets(const std::string& machine) const
{
  return (fs::path(root) / "targets" / machine).string();
}

std::string StateLayout::job_dir(int64_t job) const
{
  return (fs::path(root) / "jobs" / std::to_string(job)).string();
}

namespace {

// A job's progress log: each line goes to the store and, as a progress line, to stderr.
class JobLog {
public:
  JobLog(StateStore& store, int64_t job, std::string machine)
      : m_store(store), m_job(job), m_machine(std::move(machine))
  {
  }

  void line(const std::string& message)
  {
    log::progress("{} (job {}): {}", m_machine, m_job, message);
    if (auto r = m_store.append_log(m_job, m_machine, message); !r) {
      log::warning("{}", r.error().message);
    }
  }

private:
  StateStore& m_store;
  int64_t m_job;
  std::string m_machine;
};

// How a launch step failed: the exit code it maps to and a one-line reason.
struct StepFailure {
  ExitCode code;
  std::string message;
};

using Step = std::expected<void, StepFailure>;

std::unexpected<StepFailure> step_failed(ExitCode code, std::string message)
{
  return std::unexpected(StepFailure{code, std::move(message)});
}

std::string mib(uint64_t bytes)
{
  return fmt::format("{:.0f} MiB", static_cast<double>(bytes) / (1 << 20));
}

// Removes a target image and the files the converter keeps next to it.
void remove_target_files(const std::string& image)
{
  std::error_code ec;
  fs::remove(image, ec);
  fs::remove(image + ".boot.log", ec);
}

// Turns the progress lines of the child converter into the steps of the job log.
class ConverterWatch {
public:
  ConverterWatch(JobLog& log, BootTest boot_test) : m_log(log), m_boot_test(boot_test) {}

  void line(const std::string& line)
  {
    // "[   1.2s] Validating": the pass names of `rehost convert`.
    size_t close = line.find("] ");
    if (line.empty() || line[0] != '[' || close == std::string::npos) {
      return;
    }
    std::string pass = line.substr(close + 2);
    if (pass == "Validating") {
      m_log.line("Finished converting");
      m_log.line("Started validating");
    } else if (pass == "Boot test") {
      m_log.line("Started boot test");
    } else if (pass.rfind("Writing a standalone", 0) == 0) {
      finish_validating();
      m_log.line("Started writing a standalone image");
      m_flattening = true;
    }
  }

  // The converter succeeded.
  void finished()
  {
    finish_validating();
    if (m_flattening) {
      m_log.line("Finished writing the standalone image");
    }
  }

private:
  void finish_validating()
  {
    if (!m_validated) {
      m_log.line(m_boot_test == BootTest::run ? "Finished validating (boot test passed)"
                                              : "Finished validating");
      m_validated = true;
    }
  }

  JobLog& m_log;
  BootTest m_boot_test;
  bool m_validated = false;
  bool m_flattening = false;
};

struct ConverterRun {
  int exit_status = -1;
  int signal = 0;
  bool interrupted = false;
  std::string error; // could not start
};

// Runs `argv` with the converter's output in `log_file`, watching its progress lines. The child
// gets SIGKILL when this thread's process dies.
ConverterRun run_converter(const std::string& executable, const std::vector<std::string>& argv,
                           const std::string& log_file, ConverterWatch& watch)
{
  std::ofstream out(log_file, std::ios::app);
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const pid_t parent = getpid();
  std::string pending;
  ProcessOptions options;
  options.merge_stderr = true;
  options.output_limit = 1 << 16; // the whole output is in the log file
  options.child_main = [&]() -> int {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      return 1; // the parent died before the line above
    }
    execv(executable.c_str(), args.data());
    return 127;
  };
  options.on_output = [&](std::string_view chunk) {
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    out.flush();
    pending.append(chunk);
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      watch.line(pending.substr(0, newline));
      pending.erase(0, newline + 1);
    }
    return true;
  };
  ConverterRun run;
  auto result = run_process(argv, options);
  if (!result) {
    run.error = result.error().message;
    return run;
  }
  run.exit_status = result->exit_status;
  run.signal = result->signal;
  run.interrupted = interrupt::requested();
  return run;
}

// What the converter's report says went wrong: "while Converting: ...".
std::string report_error(const std::string& report_file)
{
  std::ifstream in(report_file);
  if (!in) {
    return {};
  }
  try {
    auto j = nlohmann::json::parse(in);
    std::string error = j.value("error", "");
    std::string pass = j.value("failed_pass", "");
    if (error.empty()) {
      return {};
    }
    return pass.empty() ? error : "while " + pass + ": " + error;
  } catch (const std::exception&) {
    return {};
  }
}

class Launch {
public:
  Launch(StateStore& store, const LaunchSettings& settings, MachineRecord machine, int64_t job,
         LifecycleState from_state)
      : m_store(store), m_settings(settings), m_machine(std::move(machine)), m_job(job),
        m_from_state(from_state), m_layout{store.directory()},
        m_log(store, job, m_machine.status.name)
  {
  }

  // Steps 2 to 4; the target image on success.
  std::expected<std::string, StepFailure> run()
  {
    if (auto r = delete_previous_target(); !r) {
      return std::unexpected(r.error());
    }
    if (auto r = take_snapshot_step(); !r) {
      return std::unexpected(r.error());
    }
    return convert_step();
  }

  // Step 5, success: the machine moves on with its new target.
  Result<void> succeed(const std::string& target)
  {
    m_log.line("Launched target " + target);
    const std::string& name = m_machine.status.name;
    return m_store.transaction([&]() -> Result<void> {
      auto current = m_store.machine(name);
      if (!current || !*current) {
        return current ? fail("machine {} was removed from the store", name)
                       : std::unexpected(current.error());
      }
      MachineRecord m = **current;
      m.status.state = state_after_launch(m_settings.mode);
      m.target_image = target;
      if (auto r = m_store.update_machine(m); !r) {
        return r;
      }
      return m_store.finish_job(m_job, JobStatus::succeeded, 0, "", target);
    });
  }

  // Step 5, failure: what the launch made is removed, the machine goes back.
  Result<void> fail_job(const StepFailure& failure)
  {
    m_log.line("Failed: " + failure.message);
    std::error_code ec;
    if (!m_snapshot.empty()) {
      auto method = parse_snapshot_method(m_snapshot_method).value_or(SnapshotMethod::sparse_copy);
      if (auto r = remove_snapshot(m_snapshot, method); !r) {
        log::warning("{}", r.error().message);
      }
    }
    fs::remove_all(m_layout.targets(m_machine.status.name), ec);
    const std::string& name = m_machine.status.name;
    return m_store.transaction([&]() -> Result<void> {
      auto current = m_store.machine(name);
      if (!current || !*current) {
        return current ? fail("machine {} was removed from the store", name)
                       : std::unexpected(current.error());
      }
      MachineRecord m = **current;
      m.status.state = m_from_state;
      m.target_image.clear();
      m.snapshot.clear();
      m.snapshot_method.clear();
      if (auto r = m_store.update_machine(m); !r) {
        return r;
      }
      return m_store.finish_job(m_job, JobStatus::failed, static_cast<int>(failure.code),
                                failure.message, "");
    });
  }

private:
  // Records the machine's snapshot and target fields, so a later launch or finalize knows what
  // exists even when this process dies.
  Step save_machine_files()
  {
    const std::string& name = m_machine.status.name;
    auto r = m_store.transaction([&]() -> Result<void> {
      auto current = m_store.machine(name);
      if (!current || !*current) {
        return current ? fail("machine {} was removed from the store", name)
                       : std::unexpected(current.error());
      }
      MachineRecord m = **current;
      m.target_image = m_machine.target_image;
      m.snapshot = m_machine.snapshot;
      m.snapshot_method = m_machine.snapshot_method;
      return m_store.update_machine(m);
    });
    if (!r) {
      return step_failed(ExitCode::state_store, r.error().message);
    }
    return {};
  }

  Step delete_previous_target()
  {
    const std::string& name = m_machine.status.name;
    std::string what;
    if (!m_machine.target_image.empty()) {
      remove_target_files(m_machine.target_image);
      what = "Deleted previous target " + m_machine.target_image;
    }
    if (!m_machine.snapshot.empty()) {
      auto method =
          parse_snapshot_method(m_machine.snapshot_method).value_or(SnapshotMethod::sparse_copy);
      if (auto r = remove_snapshot(m_machine.snapshot, method); !r) {
        return step_failed(ExitCode::snapshot_failed, r.error().message);
      }
      what +=
          (what.empty() ? "Deleted previous snapshot " : " and its snapshot ") + m_machine.snapshot;
    }
    // Whatever a killed launch left behind (partial images, copies) goes too.
    std::error_code ec;
    fs::remove_all(m_layout.targets(name), ec);
    fs::remove_all(m_layout.staging(name), ec);
    if (ec) {
      return step_failed(ExitCode::output_failed,
                         fmt::format("cannot remove the previous launch's files of {}: {}; remove "
                                     "{} and {} by hand",
                                     name, ec.message(), m_layout.targets(name),
                                     m_layout.staging(name)));
    }
    if (!what.empty()) {
      m_log.line(what);
    }
    m_machine.target_image.clear();
    m_machine.snapshot.clear();
    m_machine.snapshot_method.clear();
    return save_machine_files();
  }

  Step take_snapshot_step()
  {
    const std::string& name = m_machine.status.name;
    m_log.line("Started taking snapshot of " + m_machine.volume);
    if (access(m_machine.volume.c_str(), R_OK) != 0) {
      return step_failed(ExitCode::bad_source,
                         fmt::format("replica {}: {}; check the volume given to `rehost machines "
                                     "add {}`",
                                     m_machine.volume, std::strerror(errno), name));
    }
    auto snapshot = take_snapshot(m_machine.volume, m_layout.staging(name),
                                  fmt::format("{}-job{}", name, m_job));
    if (interrupt::requested()) {
      return step_failed(ExitCode::interrupted, "interrupted while taking the snapshot");
    }
    if (!snapshot) {
      return step_failed(ExitCode::snapshot_failed, snapshot.error().message);
    }
    m_snapshot = snapshot->path;
    m_snapshot_method = to_token(snapshot->method);
    m_machine.snapshot = m_snapshot;
    m_machine.snapshot_method = m_snapshot_method;
    if (auto r = save_machine_files(); !r) {
      return r;
    }
    if (!snapshot->warning.empty()) {
      m_log.line("Warning: " + snapshot->warning);
    }
    std::string size = snapshot->method == SnapshotMethod::lvm_snapshot
                           ? ""
                           : ", " + mib(snapshot->allocated_bytes) + " allocated";
    m_log.line(fmt::format("Finished taking snapshot {} ({}{})", snapshot->path,
                           to_token(snapshot->method), size));
    return {};
  }

  std::expected<std::string, StepFailure> convert_step()
  {
    const std::string& name = m_machine.status.name;
    std::error_code ec;
    fs::create_directories(m_layout.targets(name), ec);
    fs::create_directories(m_layout.job_dir(m_job), ec);
    if (ec) {
      return step_failed(ExitCode::output_failed,
                         fmt::format("cannot create {}: {}", m_layout.targets(name), ec.message()));
    }
    const std::string target =
        (fs::path(m_layout.targets(name))
         / fmt::format("{}-{}-job{}.qcow2", name, to_token(m_settings.mode), m_job))
            .string();
    const std::string report = (fs::path(m_layout.job_dir(m_job)) / "report.json").string();
    const std::string output = (fs::path(m_layout.job_dir(m_job)) / "convert.log").string();

    std::vector<std::string> argv = {m_settings.executable};
    argv.insert(argv.end(), m_settings.converter_options.begin(),
                m_settings.converter_options.end());
    argv.insert(argv.end(), {"convert", m_snapshot, "--target", m_machine.target, "-o", target,
                             "--report", report});
    if (m_settings.boot_test == BootTest::run) {
      argv.insert(argv.end(), {"--boot-test", "--boot-timeout",
                               std::to_string(m_settings.boot_timeout.count())});
    }
    if (m_settings.mode == LaunchMode::cutover) {
      // The cutover target must outlive finalize, which removes the snapshot.
      argv.insert(argv.end(), {"--flatten", "qcow2"});
    }
    m_log.line(fmt::format("Started converting for {} (output in {})", m_machine.target, output));
    ConverterWatch watch(m_log, m_settings.boot_test);
    ConverterRun run = run_converter(m_settings.executable, argv, output, watch);
    if (run.interrupted) {
      return step_failed(ExitCode::interrupted, "interrupted while converting");
    }
    if (!run.error.empty()) {
      return step_failed(ExitCode::internal, "cannot start the converter: " + run.error);
    }
    if (run.signal != 0) {
      return step_failed(ExitCode::conversion_failed,
                         fmt::format("the converter was killed by signal {}; its output is in {}",
                                     run.signal, output));
    }
    if (run.exit_status != 0) {
      std::string why = report_error(report);
      if (why.empty()) {
        why = fmt::format("the converter exited with status {}", run.exit_status);
      }
      return step_failed(static_cast<ExitCode>(run.exit_status),
                         fmt::format("{} (report: {})", why, report));
    }
    watch.finished();
    return target;
  }

  StateStore& m_store;
  const LaunchSettings& m_settings;
  MachineRecord m_machine;
  int64_t m_job;
  LifecycleState m_from_state;
  StateLayout m_layout;
  JobLog m_log;
  std::string m_snapshot; // made by this launch
  std::string m_snapshot_method;
};

} // namespace

LaunchOutcome launch_machine(const std::string& state_dir, const std::string& name,
                             const LaunchSettings& settings)
{
  LaunchOutcome outcome;
  outcome.machine = name;
  auto opened = StateStore::open(state_dir);
  if (!opened) {
    outcome.code = ExitCode::state_store;
    outcome.message = opened.error().message;
    return outcome;
  }
  StateStore& store = *opened;

  // 1. Claim the machine: check, create the job and move to "in progress" at once.
  MachineRecord machine;
  LifecycleState from_state = LifecycleState::not_ready;
  ExitCode refusal = ExitCode::state_store;
  auto claimed = store.transaction([&]() -> Result<void> {
    auto found = store.machine(name);
    if (!found) {
      return std::unexpected(found.error());
    }
    if (!*found) {
      refusal = ExitCode::usage;
      return fail("no machine named {}; see `rehost machines`", name);
    }
    machine = **found;
    if (auto allowed = check_action(machine.status, launch_action(settings.mode)); !allowed) {
      refusal = ExitCode::refused;
      return allowed;
    }
    from_state = machine.status.state;
    auto type = settings.mode == LaunchMode::test ? JobType::test_launch : JobType::cutover_launch;
    auto job = store.insert_job(type, {{name, from_state, ""}}, current_process_owner());
    if (!job) {
      return std::unexpected(job.error());
    }
    MachineRecord moved = machine;
    moved.status.state = state_during_launch(settings.mode);
    moved.last_job = *job;
    if (auto r = store.update_machine(moved); !r) {
      return r;
    }
    outcome.job = *job;
    return store.append_log(*job, name,
                            fmt::format("Started {} launch of {} (rehost PID {})",
                                        to_token(settings.mode), name, getpid()));
  });
  if (!claimed) {
    outcome.code = refusal;
    outcome.message = claimed.error().message;
    outcome.job = 0;
    return outcome;
  }

  // 2-4. Delete the previous target, snapshot, convert.
  Launch launch(store, settings, machine, outcome.job, from_state);
  std::expected<std::string, StepFailure> result;
  try {
    result = launch.run();
  } catch (const Fatal& f) {
    result = step_failed(f.code(), f.what());
  } catch (const std::exception& e) {
    result = step_failed(ExitCode::internal, std::string("internal error: ") + e.what());
  }

  // 5. Record the outcome.
  const std::string mode = to_token(settings.mode);
  if (result) {
    outcome.target_image = *result;
    if (auto r = launch.succeed(*result); !r) {
      outcome.code = ExitCode::state_store;
      outcome.message =
          fmt::format("{}: the {} launch (job {}) made {} but could not record it: {}", name, mode,
                      outcome.job, *result, r.error().message);
      return outcome;
    }
    outcome.message =
        fmt::format("{}: launched {} target {} (job {})", name, mode, *result, outcome.job);
    return outcome;
  }
  outcome.code = result.error().code;
  outcome.message = fmt::format("{}: {} launch failed (job {}): {}; see `rehost job log {}`", name,
                                mode, outcome.job, result.error().message, outcome.job);
  if (auto r = launch.fail_job(result.error()); !r) {
    log::warning("{}: could not record the failure of job {}: {}", name, outcome.job,
                 r.error().message);
  }
  return outcome;
}

} // namespace rehost
