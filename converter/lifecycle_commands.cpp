#include "converter/lifecycle_commands.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "converter/interrupt.hpp"
#include "converter/lifecycle_format.hpp"
#include "converter/lifecycle_launch.hpp"
#include "converter/log.hpp"
#include "converter/rules.hpp"
#include "converter/snapshot.hpp"
#include "converter/source.hpp"
#include "converter/state_store.hpp"

namespace rehost {

namespace fs = std::filesystem;

namespace {

void print(const std::string& text)
{
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

void print_error_line(const std::string& message)
{
  std::fputs(("rehost: error: " + message + "\n").c_str(), stderr);
}

// Opens the store and marks the jobs of processes that died as failed.
StateStore open_store(const CommonOptions& common)
{
  auto store = StateStore::open(resolve_state_dir(common.state_dir));
  if (!store) {
    throw Fatal(ExitCode::state_store, store.error().message);
  }
  auto recovered = store->recover_dead_jobs();
  if (!recovered) {
    throw Fatal(ExitCode::state_store, recovered.error().message);
  }
  for (const auto& job : *recovered) {
    std::string names;
    for (const auto& m : job.machines) {
      names += (names.empty() ? "" : ", ") + m;
    }
    log::warning("job {} ({}) was left running by rehost PID {}, which is gone: marked failed; "
                 "the machine is back to the state it had before",
                 job.id, names, job.pid);
  }
  return std::move(*store);
}

// Runs `body` in a transaction; a failure throws Fatal with the code `body` chose (state_store
// unless it set another).
void in_transaction(StateStore& store, const std::function<Result<void>(ExitCode&)>& body)
{
  ExitCode code = ExitCode::state_store;
  auto r = store.transaction([&] { return body(code); });
  if (!r) {
    throw Fatal(code, r.error().message);
  }
}

// The machine `name`; an unknown name sets `code` to usage and suggests a near one.
Result<MachineRecord> find_machine(StateStore& store, const std::string& name, ExitCode& code)
{
  auto found = store.machine(name);
  if (!found) {
    return std::unexpected(found.error());
  }
  if (*found) {
    return **found;
  }
  code = ExitCode::usage;
  std::vector<std::string> names;
  if (auto all = store.machines()) {
    for (const auto& m : *all) {
      names.push_back(m.status.name);
    }
  }
  std::string hint = did_you_mean(name, names);
  return fail("no machine named {}{}; see `rehost machines`", name,
              hint.empty() ? "" : " (did you mean " + hint + "?)");
}

// Refusal by the lifecycle sets `code` to refused.
Result<void> check_allowed(const MachineRecord& machine, LifecycleAction action, ExitCode& code)
{
  auto allowed = check_action(machine.status, action);
  if (!allowed) {
    code = ExitCode::refused;
  }
  return allowed;
}

std::map<int64_t, JobRecord> jobs_by_id(StateStore& store)
{
  auto jobs = store.jobs();
  if (!jobs) {
    throw Fatal(ExitCode::state_store, jobs.error().message);
  }
  std::map<int64_t, JobRecord> out;
  for (auto& job : *jobs) {
    out.emplace(job.id, std::move(job));
  }
  return out;
}

void require_known_target(const CommonOptions& common, const std::string& target)
{
  std::vector<std::string> dirs = {builtin_rules_dir()};
  dirs.insert(dirs.end(), common.rules_dirs.begin(), common.rules_dirs.end());
  auto rules = load_rules(dirs);
  if (!rules) {
    fatal(ExitCode::bad_rules, "invalid rules:\n{}", rules.error().message);
  }
  if (rules->target(target)) {
    return;
  }
  std::vector<std::string> names;
  for (const auto& [name, _] : rules->targets) {
    names.push_back(name);
  }
  std::string hint = did_you_mean(target, names);
  fatal(ExitCode::usage, "unknown target '{}'{}; see `rehost targets`", target,
        hint.empty() ? "" : " (did you mean '" + hint + "'?)");
}

// The machines --all-ready picks: not archived, in the state the mode starts from, replicating.
std::vector<std::string> ready_machines(StateStore& store, LaunchMode mode)
{
  auto machines = store.machines();
  if (!machines) {
    throw Fatal(ExitCode::state_store, machines.error().message);
  }
  const LifecycleState ready = mode == LaunchMode::test ? LifecycleState::ready_for_testing
                                                        : LifecycleState::ready_for_cutover;
  std::vector<std::string> names;
  for (const auto& m : *machines) {
    if (m.status.archived == Archived::no && m.status.state == ready
        && m.status.replication == ReplicationState::continuous) {
      names.push_back(m.status.name);
    }
  }
  return names;
}

// Launches `names` with at most `parallel` at a time; outcomes in the order of `names`.
std::vector<LaunchOutcome> launch_all(const std::string& state_dir,
                                      const std::vector<std::string>& names, int parallel,
                                      const LaunchSettings& settings)
{
  std::vector<LaunchOutcome> outcomes(names.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= names.size()) {
        return;
      }
      if (interrupt::requested()) {
        outcomes[i] = {names[i], 0, ExitCode::interrupted,
                       names[i] + ": not launched: interrupted before its turn", ""};
        continue;
      }
      outcomes[i] = launch_machine(state_dir, names[i], settings);
    }
  };
  size_t threads = std::min(names.size(), static_cast<size_t>(parallel));
  if (threads <= 1) {
    worker();
    return outcomes;
  }
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back(worker);
  }
  for (auto& thread : pool) {
    thread.join();
  }
  return outcomes;
}

} // namespace

bool valid_machine_name(const std::string& name)
{
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

int run_machines_add(const CommonOptions& common, const MachinesAddOptions& o)
{
  if (!valid_machine_name(o.name)) {
    fatal(ExitCode::usage,
          "'{}' is not a valid machine name: use 1 to 64 letters, digits, '.', '_' or '-', "
          "starting with a letter or digit",
          o.name);
  }
  Source source = open_source(o.volume, DirectoryUse::refused);
  require_known_target(common, o.target);
  StateStore store = open_store(common);
  MachineRecord machine;
  machine.status.name = o.name;
  machine.volume = source.path;
  machine.target = o.target;
  machine.added_ms = now_ms();
  in_transaction(store, [&](ExitCode& code) -> Result<void> {
    if (auto existing = store.machine(o.name); existing && *existing) {
      code = ExitCode::usage;
      return fail("a machine named {} exists already (volume {}); pick another name", o.name,
                  (*existing)->volume);
    }
    return store.insert_machine(machine);
  });
  print(fmt::format("Added {}: volume {} ({}), target {}; lifecycle {}, replication {}\n", o.name,
                    source.path, source.format, o.target, describe(machine.status.state),
                    to_token(machine.status.replication)));
  return 0;
}

int run_machines_list(const CommonOptions& common, const MachinesListOptions& o)
{
  StateStore store = open_store(common);
  auto all = store.machines();
  if (!all) {
    throw Fatal(ExitCode::state_store, all.error().message);
  }
  const Archived wanted = o.archived ? Archived::yes : Archived::no;
  std::vector<MachineRecord> machines;
  for (const auto& m : *all) {
    if (m.status.archived == wanted) {
      machines.push_back(m);
    }
  }
  auto jobs = jobs_by_id(store);
  if (o.format == OutputFormat::json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : machines) {
      list.push_back(to_json(m, jobs));
    }
    print(list.dump(2) + "\n");
  } else if (machines.empty()) {
    print(o.archived ? "No archived machines.\n"
                     : "No machines; add one with `rehost machines add NAME --volume PATH`.\n");
  } else {
    print(machines_table(machines, jobs));
  }
  return 0;
}

int run_machines_replication(const CommonOptions& common, const ReplicationOptions& o)
{
  auto replication = parse_replication_state(o.state);
  if (!replication || replication == ReplicationState::disconnected) {
    fatal(ExitCode::usage,
          "unknown replication state '{}'; use initial-sync, continuous or stalled", o.state);
  }
  StateStore store = open_store(common);
  MachineRecord machine;
  in_transaction(store, [&](ExitCode& code) -> Result<void> {
    auto found = find_machine(store, o.name, code);
    if (!found) {
      return std::unexpected(found.error());
    }
    machine = *found;
    if (auto r = check_allowed(machine, LifecycleAction::set_replication, code); !r) {
      return r;
    }
    machine.status.replication = *replication;
    machine.status.state = state_after_replication(machine.status.state, *replication);
    return store.update_machine(machine);
  });
  print(fmt::format("{}: replication {}; lifecycle {}\n", o.name, o.state,
                    describe(machine.status.state)));
  return 0;
}

int run_launch(const CommonOptions& common, const LaunchOptions& o)
{
  auto mode = parse_launch_mode(o.mode);
  if (!mode) {
    fatal(ExitCode::usage, "unknown launch mode '{}'; use test or cutover", o.mode);
  }
  if (o.parallel < 1) {
    fatal(ExitCode::usage, "--parallel must be at least 1 (got {})", o.parallel);
  }
  if (o.all_ready && !o.names.empty()) {
    fatal(ExitCode::usage, "name machines or use --all-ready, not both");
  }
  if (!o.all_ready && o.names.empty()) {
    fatal(ExitCode::usage, "name the machines to launch, or use --all-ready");
  }
  StateStore store = open_store(common);

  // Which machines, each once, in the order given.
  std::vector<std::string> names;
  for (const auto& name : o.all_ready ? ready_machines(store, *mode) : o.names) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  if (names.empty()) {
    fatal(ExitCode::refused,
          "no machine is ready for a {} launch ({} with continuous replication); see `rehost "
          "machines`",
          to_token(*mode), *mode == LaunchMode::test ? "ready for testing" : "ready for cutover");
  }

  // Refuse the whole command before anything starts when one of them cannot launch.
  std::vector<std::pair<ExitCode, std::string>> refusals;
  for (const auto& name : names) {
    ExitCode code = ExitCode::state_store;
    auto machine = find_machine(store, name, code);
    if (machine) {
      if (auto allowed = check_allowed(*machine, launch_action(*mode), code); allowed) {
        continue;
      } else {
        refusals.emplace_back(code, allowed.error().message);
      }
    } else {
      refusals.emplace_back(code, machine.error().message);
    }
  }
  if (!refusals.empty()) {
    for (const auto& [code, message] : refusals) {
      print_error_line(message + (names.size() > 1 ? "; nothing was launched" : ""));
    }
    return static_cast<int>(refusals.front().first);
  }

  LaunchSettings settings;
  settings.mode = *mode;
  settings.boot_test = o.boot_test ? BootTest::run : BootTest::skip;
  settings.boot_timeout = o.boot_timeout;
  for (const auto& dir : common.rules_dirs) {
    settings.converter_options.insert(settings.converter_options.end(),
                                      {"--rules-dir", fs::absolute(dir).string()});
  }
  settings.converter_options.insert(settings.converter_options.end(),
                                    {"--backend", common.backend});
  auto outcomes = launch_all(store.directory(), names, o.parallel, settings);

  int code = 0;
  for (const auto& outcome : outcomes) {
    if (outcome.code == ExitCode::ok) {
      print(outcome.message + "\n");
    } else {
      print_error_line(outcome.message);
      if (code == 0) {
        code = static_cast<int>(outcome.code);
      }
    }
  }
  return code;
}

int run_jobs(const CommonOptions& common, const JobsOptions& o)
{
  StateStore store = open_store(common);
  auto jobs = store.jobs();
  if (!jobs) {
    throw Fatal(ExitCode::state_store, jobs.error().message);
  }
  if (o.format == OutputFormat::json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& job : *jobs) {
      list.push_back(to_json(job));
    }
    print(list.dump(2) + "\n");
  } else if (jobs->empty()) {
    print("No jobs yet; `rehost launch` starts one.\n");
  } else {
    print(jobs_table(*jobs));
  }
  return 0;
}

int run_job_log(const CommonOptions& common, const JobLogOptions& o)
{
  StateStore store = open_store(common);
  auto require_job = [&] {
    auto job = store.job(o.id);
    if (!job) {
      throw Fatal(ExitCode::state_store, job.error().message);
    }
    if (!*job) {
      fatal(ExitCode::usage, "no job {}; see `rehost jobs`", o.id);
    }
    return **job;
  };
  require_job();
  int64_t seq = 0;
  while (true) {
    // The status first: lines written before it ended are all read below.
    JobRecord job = require_job();
    auto lines = store.log_lines(o.id, seq);
    if (!lines) {
      throw Fatal(ExitCode::state_store, lines.error().message);
    }
    for (const auto& line : *lines) {
      print((o.format == OutputFormat::json ? to_json(line).dump() : format_log_line(line)) + "\n");
      seq = line.seq;
    }
    if (!o.follow || job.status != JobStatus::running) {
      return 0;
    }
    if (!owner_alive(job.owner)) {
      // Its process died: mark it failed now, and print that line on the next round.
      if (auto r = store.recover_dead_jobs(); !r) {
        throw Fatal(ExitCode::state_store, r.error().message);
      }
      continue;
    }
    interrupt::check();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

int run_finalize(const CommonOptions& common, const std::string& name)
{
  StateStore store = open_store(common);
  StateLayout layout{store.directory()};
  MachineRecord machine;
  int64_t job = 0;
  in_transaction(store, [&](ExitCode& code) -> Result<void> {
    auto found = find_machine(store, name, code);
    if (!found) {
      return std::unexpected(found.error());
    }
    machine = *found;
    if (auto r = check_allowed(machine, LifecycleAction::finalize, code); !r) {
      return r;
    }
    auto id = store.insert_job(JobType::finalize, {{name, machine.status.state, ""}},
                               current_process_owner());
    if (!id) {
      return std::unexpected(id.error());
    }
    job = *id;
    return store.append_log(job, name, "Started finalize of " + name);
  });
  auto log_line = [&](const std::string& message) {
    log::progress("{} (job {}): {}", name, job, message);
    if (auto r = store.append_log(job, name, message); !r) {
      log::warning("{}", r.error().message);
    }
  };

  // The staging snapshots go; the cutover target is a standalone image and stays.
  Result<void> removed;
  if (!machine.snapshot.empty()) {
    auto method =
        parse_snapshot_method(machine.snapshot_method).value_or(SnapshotMethod::sparse_copy);
    removed = remove_snapshot(machine.snapshot, method);
    if (removed) {
      log_line("Removed staging snapshot " + machine.snapshot);
    }
  }
  std::error_code ec;
  if (removed) {
    fs::remove_all(layout.staging(name), ec);
    if (ec) {
      removed = fail("cannot remove the staging area {}: {}", layout.staging(name), ec.message());
    }
  }
  if (!removed) {
    std::string message = removed.error().message;
    log_line("Failed: " + message);
    (void)store.finish_job(job, JobStatus::failed, static_cast<int>(ExitCode::snapshot_failed),
                           message, "");
    fatal(ExitCode::snapshot_failed,
          "{}: finalize failed (job {}): {}; run `rehost finalize {}` "
          "again once fixed",
          name, job, message, name);
  }
  log_line("Removed staging area " + layout.staging(name));

  in_transaction(store, [&](ExitCode& code) -> Result<void> {
    auto found = find_machine(store, name, code);
    if (!found) {
      return std::unexpected(found.error());
    }
    machine = *found;
    machine.status.state = LifecycleState::finalized;
    machine.status.replication = ReplicationState::disconnected;
    machine.snapshot.clear();
    machine.snapshot_method.clear();
    if (auto r = store.update_machine(machine); !r) {
      return r;
    }
    if (auto r = store.append_log(job, name, "Replication disconnected; finalized"); !r) {
      return r;
    }
    return store.finish_job(job, JobStatus::succeeded, 0, "", machine.target_image);
  });
  print(fmt::format("{}: finalized (job {}): staging snapshots removed, replication "
                    "disconnected; the cutover target {} stays\n",
                    name, job, machine.target_image.empty() ? "(none)" : machine.target_image));
  return 0;
}

int run_archive(const CommonOptions& common, const std::string& name)
{
  StateStore store = open_store(common);
  in_transaction(store, [&](ExitCode& code) -> Result<void> {
    auto found = find_machine(store, name, code);
    if (!found) {
      return std::unexpected(found.error());
    }
    MachineRecord machine = *found;
    if (auto r = check_allowed(machine, LifecycleAction::archive, code); !r) {
      return r;
    }
    machine.status.archived = Archived::yes;
    return store.update_machine(machine);
  });
  print(fmt::format("{}: archived; `rehost machines --archived` lists it\n", name));
  return 0;
}

} // namespace rehost
