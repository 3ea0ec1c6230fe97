// rehost: make the replicated boot volume of a server boot on a new platform.
//
// main() parses the command line and runs one subcommand. Every failure arrives here as a
// Fatal with its exit code and is printed once, on one line, as "rehost: error: ...".
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "converter/commands.hpp"
#include "converter/error.hpp"
#include "converter/interrupt.hpp"
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
  130  interrupted (SIGINT/SIGTERM); nothing was left behind)";

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
  convert_cmd
      ->add_option("SOURCE", convert.source,
                   "Disk image: raw, qcow2 or vmdk (the format is detected)")
      ->required();
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

  try {
    if (inspect_cmd->parsed()) {
      return run_inspect(common, inspect);
    }
    if (convert_cmd->parsed()) {
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
  } catch (const Fatal& e) {
    print_error(e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return static_cast<int>(ExitCode::internal);
  }
  return static_cast<int>(ExitCode::usage);
}
