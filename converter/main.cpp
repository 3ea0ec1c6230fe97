// rehost: make the replicated boot volume of a server boot on a new platform.
//
// main() parses the command line and runs one subcommand. Every failure arrives here as a
// Fatal with its exit code and is printed once, on one line, as "rehost: error: ...".
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "converter/batch.hpp"
#include "converter/commands.hpp"
#include "converter/error.hpp"
#include "converter/interrupt.hpp"
#include "converter/lifecycle.hpp"
#include "converter/lifecycle_commands.hpp"
#include "converter/log.hpp"

namespace {

using namespace rehost;

void print_error(const std::string& message)
{
  std::fputs(("rehost: error: " + message + "\n").c_str(), stderr);
}

// The documented exit codes, for --help.
const char* k_exit_codes = R"(Exit codes:
  0  success
  1  internal error (a bug in rehost)
  2  bad usage: unknown option or target, missing argument
  3  the source is missing, unreadable, empty, truncated or not a disk
  4  unsupported guest: no OS, an OS no rule handles, several OSes without --root
  5  a conversion step failed; no output was made
  6  validation or the boot test failed; no output was made
  7  a rule file or target profile is invalid
  8  the output cannot be written (missing or read-only directory, disk full)
  9  the machine's lifecycle or replication state does not allow the action
  10  the state store cannot be opened, read or written
  11  no point-in-time snapshot of the replica could be taken
  130  interrupted (SIGINT/SIGTERM); nothing was left behind
A launch of several machines exits with the code of the first one that failed.)";

} // namespace

int main(int argc, char** argv)
{
  interrupt::install();

  CLI::App app{"rehost: convert a server's boot volume to boot on a new platform"};
  app.footer(k_exit_codes);
  app.set_version_flag("--version", std::string("rehost ") + REHOST_VERSION);
  app.require_subcommand(1);

  CommonOptions common;
  bool verbose = false;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "Print debug lines");
  app.add_flag("-q,--quiet", quiet, "Print only errors and warnings");
  app.add_option("--rules-dir", common.rules_dirs,
                 "Add a directory of rule files, after the built-in ones (repeatable)")
      ->check(CLI::ExistingDirectory);
  if (const char* env = std::getenv("REHOST_BACKEND"); env && *env) {
    common.backend = env;
  }
  int command_timeout = 1800;
  app.add_option("--command-timeout", command_timeout,
                 "Seconds a guest command (initramfs rebuild, ...) may run before it is stopped")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--backend", common.backend,
                 "How to reach the disk: native (mount it on this host; needs root), guestfs (a "
                 "libguestfs appliance), or auto (native when possible) [$REHOST_BACKEND]")
      ->check(CLI::IsMember({"auto", "native", "guestfs"}))
      ->capture_default_str();
  app.add_option("--state-dir", common.state_dir,
                 "Where the lifecycle commands keep machines, jobs, snapshots and targets "
                 "[$REHOST_STATE_DIR, else $XDG_DATA_HOME/rehost or ~/.local/share/rehost]");

  // The subcommands, in the order --help lists them.
  InspectOptions inspect;
  auto* inspect_cmd = app.add_subcommand(
      "inspect", "Describe the OS, disks, kernels, bootloader and tools of SOURCE");
  inspect_cmd
      ->add_option("SOURCE", inspect.source,
                   "Disk image (raw, qcow2, vmdk) or a directory holding a root file system")
      ->required();
  inspect_cmd->add_flag("--json", inspect.json, "Print the full inspection as JSON");
  inspect_cmd->add_option("--root", inspect.root,
                          "The root device when the disk holds several OSes");

  ConvertOptions convert;
  int convert_boot_timeout = 600;
  auto* convert_cmd = app.add_subcommand(
      "convert",
      "Convert SOURCE for a target platform into a new image OUTPUT (SOURCE is never written)");
  std::vector<std::string> convert_sources;
  int convert_parallel = 0;
  convert_cmd
      ->add_option("SOURCE", convert_sources,
                   "Disk image: raw, qcow2 or vmdk (the format is detected); several convert "
                   "each into the directory -o names")
      ->required();
  convert_cmd
      ->add_option("--parallel", convert_parallel,
                   "With several sources: how many conversions at once (default: from cores and "
                   "memory)")
      ->check(CLI::PositiveNumber);
  convert_cmd->add_option("-t,--target", convert.target, "Target platform (see `rehost targets`)")
      ->required();
  convert_cmd
      ->add_option("-o,--output", convert.output,
                   "Output image: a qcow2 overlay backed by SOURCE (see --flatten)")
      ->required();
  convert_cmd->add_option("--report", convert.report,
                          "Write a JSON report of every change and check to this file");
  convert_cmd->add_flag("--boot-test", convert.boot_test,
                        "Boot the result in qemu on the target's devices before declaring it done");
  convert_cmd
      ->add_option("--boot-timeout", convert_boot_timeout,
                   "Seconds the boot test waits for a login prompt")
      ->capture_default_str();
  convert_cmd
      ->add_option("--flatten", convert.flatten_format,
                   "Write a standalone image in this format (qcow2, raw) instead of an overlay")
      ->check(CLI::IsMember({"qcow2", "raw", "vmdk"}));
  convert_cmd->add_option("--root", convert.root,
                          "The root device when the disk holds several OSes");
  convert_cmd->add_flag("--force", convert.force, "Replace OUTPUT if it exists");
  convert_cmd
      ->add_option("--drivers", convert.drivers,
                   "Windows guests: a directory of driver packages (INF, SYS, CAT) for the target "
                   "(default: the target profile's windows.drivers)")
      ->check(CLI::ExistingDirectory);
  convert_cmd->add_flag("--keep-network", convert.keep_network,
                        "Keep the static network configuration and interface names instead of "
                        "DHCP on the target's first interface (docs/network.md)");
  convert_cmd
      ->add_option("--initramfs", convert.initramfs,
                   "How Linux initramfs images get the target's drivers: rebuild (the guest's "
                   "own tool), repack (rewritten on the host, or stop), auto (rewritten on the "
                   "host where the rule allows it, else rebuilt; docs/initramfs.md)")
      ->check(CLI::IsMember({"auto", "rebuild", "repack"}));
  convert_cmd
      ->add_option("--packages-dir", convert.packages_dir,
                   "Where install_packages actions find their package directories (default: "
                   "$REHOST_PACKAGES_DIR)")
      ->envname("REHOST_PACKAGES_DIR")
      ->check(CLI::ExistingDirectory);
  convert_cmd->add_flag("--discard-hive-logs", convert.discard_hive_logs,
                        "Windows guests: edit a registry hive that was not cleanly written, and "
                        "remove its transaction logs (the changes only they hold are lost)");

  ValidateOptions validate;
  int validate_boot_timeout = 600;
  auto* validate_cmd =
      app.add_subcommand("validate", "Check that IMAGE will boot on a target platform");
  validate_cmd->add_option("IMAGE", validate.image, "Disk image to check (not written)")
      ->required();
  validate_cmd->add_option("-t,--target", validate.target, "Target platform")->required();
  validate_cmd->add_option("--report", validate.report, "Write a JSON report to this file");
  validate_cmd->add_flag("--boot-test", validate.boot_test,
                         "Also boot IMAGE in qemu on the target's devices");
  validate_cmd
      ->add_option("--boot-timeout", validate_boot_timeout,
                   "Seconds the boot test waits for a login prompt")
      ->capture_default_str();
  validate_cmd->add_option("--root", validate.root,
                           "The root device when the disk holds several OSes");

  auto* targets_cmd =
      app.add_subcommand("targets", "List the target platforms and what each needs");

  PlanOptions plan;
  auto* plan_cmd = app.add_subcommand(
      "plan", "Show every action and the diff of every file a conversion would change (nothing "
              "is written)");
  plan_cmd->add_option("SOURCE", plan.source, "Disk image")->required();
  plan_cmd->add_option("-t,--target", plan.target, "Target platform")->required();
  plan_cmd->add_flag("--json", plan.json, "Print the plan as JSON");
  plan_cmd->add_option("--root", plan.root, "The root device when the disk holds several OSes");
  plan_cmd->add_option("--drivers", plan.drivers, "Windows guests: driver packages, as for convert")
      ->check(CLI::ExistingDirectory);
  plan_cmd->add_flag("--keep-network", plan.keep_network,
                     "Keep the network configuration and interface names, as for convert");
  plan_cmd->add_option("--initramfs", plan.initramfs, "auto, rebuild or repack, as for convert")
      ->check(CLI::IsMember({"auto", "rebuild", "repack"}));
  plan_cmd
      ->add_option("--packages-dir", plan.packages_dir,
                   "Package directories for install_packages, as for convert")
      ->envname("REHOST_PACKAGES_DIR")
      ->check(CLI::ExistingDirectory);
  plan_cmd->add_flag("--discard-hive-logs", plan.discard_hive_logs,
                     "Windows guests: as for convert");

  auto* rules_cmd = app.add_subcommand("rules", "Work with rule files");
  rules_cmd->require_subcommand(1);
  auto* rules_list_cmd =
      rules_cmd->add_subcommand("list", "List the effective rules and where each comes from");
  std::vector<std::string> lint_paths;
  auto* rules_lint_cmd = rules_cmd->add_subcommand(
      "lint", "Check rule files and target profiles (default: every rules directory in use)");
  rules_lint_cmd->add_option("PATH", lint_paths, "Rule files or rules directories");
  ExplainOptions explain;
  auto* rules_explain_cmd = rules_cmd->add_subcommand(
      "explain", "Which rules match SOURCE for a target, and which condition fails for the others");
  rules_explain_cmd->add_option("SOURCE", explain.source, "Disk image or directory")->required();
  rules_explain_cmd->add_option("-t,--target", explain.target, "Target platform")->required();
  rules_explain_cmd->add_option("--root", explain.root,
                                "The root device when the disk holds several OSes");

  // The migration lifecycle: source machines, launches and their jobs, finalize, archive.
  MachinesListOptions machines_list;
  bool machines_json = false;
  auto* machines_cmd = app.add_subcommand(
      "machines", "List the source machines with their lifecycle and replication state");
  machines_cmd->require_subcommand(0, 1);
  machines_cmd->add_flag("--archived", machines_list.archived,
                         "List the archived machines instead of the others");
  machines_cmd->add_flag("--json", machines_json, "Print the machines as a JSON array");

  MachinesAddOptions machines_add;
  auto* machines_add_cmd = machines_cmd->add_subcommand(
      "add", "Register a source machine by its replicated boot volume");
  machines_add_cmd->add_option("NAME", machines_add.name, "The machine's name")->required();
  machines_add_cmd
      ->add_option("--volume", machines_add.volume,
                   "The replica of its boot volume: an image file (raw, qcow2) or a block device")
      ->required();
  machines_add_cmd
      ->add_option("-t,--target", machines_add.target, "Target platform (see `rehost targets`)")
      ->capture_default_str();

  ReplicationOptions replication;
  auto* replication_cmd = machines_cmd->add_subcommand(
      "replication", "Set a machine's replication state, as its replicator reports it");
  replication_cmd->add_option("NAME", replication.name, "The machine")->required();
  replication_cmd->add_option("STATE", replication.state, "initial-sync, continuous or stalled")
      ->required()
      ->check(CLI::IsMember(settable_replication_tokens()));

  LaunchOptions launch;
  int launch_boot_timeout = 600;
  auto* launch_cmd = app.add_subcommand(
      "launch", "Launch test or cutover targets: snapshot each replica, convert it, validate it");
  launch_cmd->add_option("NAME", launch.names, "The machines to launch");
  launch_cmd->add_option("--mode", launch.mode, "test or cutover")
      ->required()
      ->check(CLI::IsMember({"test", "cutover"}));
  launch_cmd->add_flag("--all-ready", launch.all_ready,
                       "Launch every machine that is ready for this mode");
  launch_cmd->add_option("--parallel", launch.parallel, "Launch this many machines at a time")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  launch_cmd->add_flag("--boot-test", launch.boot_test,
                       "Boot each target in qemu on the target's devices before declaring it done");
  launch_cmd
      ->add_option("--boot-timeout", launch_boot_timeout,
                   "Seconds the boot test waits for a login prompt")
      ->capture_default_str();

  JobsOptions jobs;
  bool jobs_json = false;
  auto* jobs_cmd = app.add_subcommand("jobs", "List the launch and finalize jobs");
  jobs_cmd->add_flag("--json", jobs_json, "Print the jobs as a JSON array");

  JobLogOptions job_log;
  bool job_log_json = false;
  auto* job_cmd = app.add_subcommand("job", "Look at one job");
  job_cmd->require_subcommand(1);
  auto* job_log_cmd = job_cmd->add_subcommand("log", "Print a job's timestamped progress log");
  job_log_cmd->add_option("ID", job_log.id, "The job (see `rehost jobs`)")->required();
  job_log_cmd->add_flag("-f,--follow", job_log.follow, "Keep printing lines until the job ends");
  job_log_cmd->add_flag("--json", job_log_json, "Print one JSON object per line");

  std::string finalize_name;
  auto* finalize_cmd = app.add_subcommand(
      "finalize", "After the cutover: remove the staging snapshots, disconnect replication");
  finalize_cmd->add_option("NAME", finalize_name, "The machine")->required();

  std::string archive_name;
  auto* archive_cmd =
      app.add_subcommand("archive", "Hide a finalized machine from `rehost machines`");
  archive_cmd->add_option("NAME", archive_name, "The machine")->required();

  // The lifecycle commands also take the global options after their name
  // (`rehost launch web1 --mode test --state-dir DIR`).
  for (auto* cmd : {machines_cmd, machines_add_cmd, replication_cmd, launch_cmd, jobs_cmd, job_cmd,
                    job_log_cmd, finalize_cmd, archive_cmd}) {
    cmd->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    print_error(message + " (run 'rehost --help')");
    return static_cast<int>(ExitCode::usage);
  }

  log::set_level(quiet ? log::Level::quiet : verbose ? log::Level::verbose : log::Level::normal);
  convert.boot_timeout = std::chrono::seconds(convert_boot_timeout);
  common.command_timeout = std::chrono::seconds(command_timeout);
  validate.boot_timeout = std::chrono::seconds(validate_boot_timeout);
  launch.boot_timeout = std::chrono::seconds(launch_boot_timeout);
  machines_list.format = machines_json ? OutputFormat::json : OutputFormat::text;
  jobs.format = jobs_json ? OutputFormat::json : OutputFormat::text;
  job_log.format = job_log_json ? OutputFormat::json : OutputFormat::text;

  try {
    if (inspect_cmd->parsed()) {
      return run_inspect(common, inspect);
    }
    if (convert_cmd->parsed()) {
      if (convert_sources.size() > 1) {
        return run_convert_batch(common, convert, convert_sources, convert_parallel);
      }
      convert.source = convert_sources.front();
      return run_convert(common, convert);
    }
    if (validate_cmd->parsed()) {
      return run_validate(common, validate);
    }
    if (targets_cmd->parsed()) {
      return run_targets(common);
    }
    if (plan_cmd->parsed()) {
      return run_plan(common, plan);
    }
    if (rules_list_cmd->parsed()) {
      return run_rules_list(common);
    }
    if (rules_lint_cmd->parsed()) {
      return run_rules_lint(common, lint_paths);
    }
    if (rules_explain_cmd->parsed()) {
      return run_rules_explain(common, explain);
    }
    if (machines_add_cmd->parsed()) {
      return run_machines_add(common, machines_add);
    }
    if (replication_cmd->parsed()) {
      return run_machines_replication(common, replication);
    }
    if (machines_cmd->parsed()) {
      return run_machines_list(common, machines_list);
    }
    if (launch_cmd->parsed()) {
      return run_launch(common, launch);
    }
    if (jobs_cmd->parsed()) {
      return run_jobs(common, jobs);
    }
    if (job_log_cmd->parsed()) {
      return run_job_log(common, job_log);
    }
    if (finalize_cmd->parsed()) {
      return run_finalize(common, finalize_name);
    }
    if (archive_cmd->parsed()) {
      return run_archive(common, archive_name);
    }
  } catch (const Fatal& e) {
    print_error(e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return static_cast<int>(ExitCode::internal);
  }
  return static_cast<int>(ExitCode::usage);
}
