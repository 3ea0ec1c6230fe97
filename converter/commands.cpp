#include "converter/commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include "converter/actions.hpp"
#include "converter/boot_test.hpp"
#include "converter/guestfs_guest.hpp"
#include "converter/interrupt.hpp"
#include "converter/kernel_choice.hpp"
#include "converter/log.hpp"
#include "converter/output.hpp"
#include "converter/report.hpp"
#include "converter/rules.hpp"
#include "converter/session.hpp"
#include "converter/source.hpp"
#include "converter/validate.hpp"
#include "converter/windows_guest.hpp"
#include "drivers/kernel_drivers.hpp"

namespace rehost {

namespace {

// Runs the passes of a command, one progress line and one timing each.
class Passes {
public:
  explicit Passes(Report& report) : m_report(report) {}

  template <typename F>
  auto run(const std::string& name, F&& body)
  {
    interrupt::check();
    log::progress("{}", name);
    m_report.failed_pass = name; // cleared when the command finishes
    auto start = std::chrono::steady_clock::now();
    auto record = [&] {
      m_report.passes.push_back(
          {name, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
    };
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      record();
    } else {
      auto result = body();
      record();
      return result;
    }
  }

private:
  Report& m_report;
};

RuleSet load_rule_set(const CommonOptions& common)
{
  auto dirs = rules_search_path(common.rules_dirs);
  if (!dirs) {
    fatal(ExitCode::bad_rules, "invalid configuration: {}", dirs.error().message);
  }
  auto rules = load_rules(*dirs);
  if (!rules) {
    fatal(ExitCode::bad_rules, "invalid rules:\n{}", rules.error().message);
  }
  return std::move(*rules);
}

const TargetProfile& require_target(const RuleSet& rules, const std::string& name)
{
  if (const TargetProfile* t = rules.target(name)) {
    return *t;
  }
  std::vector<std::string> names;
  for (const auto& [n, _] : rules.targets) {
    names.push_back(n);
  }
  std::string hint = did_you_mean(name, names);
  std::string list;
  for (const auto& n : names) {
    list += (list.empty() ? "" : ", ") + n;
  }
  fatal(ExitCode::usage, "unknown target '{}'{}; known targets: {}", name,
        hint.empty() ? "" : " (did you mean '" + hint + "'?)", list);
}

// VmHWM of this process, in bytes.
uint64_t peak_rss()
{
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;
    }
  }
  return 0;
}

void finish_report(Report& report, const std::string& path)
{
  report.appliance_launches = GuestfsGuest::launches();
  report.peak_rss_bytes = peak_rss();
  if (path.empty()) {
    return;
  }
  if (auto r = write_report(report, path); !r) {
    log::warning("{}", r.error().message);
  }
}

// Runs `body`, recording a failure in the report (which is written either way).
template <typename F>
int with_report(Report& report, const std::string& report_path, F&& body)
{
  try {
    int code = body();
    report.exit_code = code;
    report.status = code == 0 ? "ok" : "failed";
    if (code == 0) {
      report.failed_pass.clear();
    }
    finish_report(report, report_path);
    return code;
  } catch (const Fatal& f) {
    report.status = "failed";
    report.exit_code = static_cast<int>(f.code());
    report.error = f.what();
    finish_report(report, report_path);
    throw;
  }
}

std::vector<const Rule*> matching_rules(const RuleSet& rules, const Inspection& in,
                                        const std::string& target)
{
  std::vector<const Rule*> out;
  for (const auto& rule : rules.rules) {
    if (rule_matches(rule, in, target)) {
      out.push_back(&rule);
    }
  }
  return out;
}

// The drivers the target needs that no kernel of the guest has: the conversion could not
// produce a bootable guest.
void require_target_drivers(const Inspection& in, const TargetProfile& target)
{
  if (in.kernels.empty()) {
    fatal(ExitCode::unsupported_guest, "no kernel found in /boot");
  }
  for (const auto& driver : target.storage_drivers) {
    bool any = std::any_of(in.kernels.begin(), in.kernels.end(), [&](const KernelInfo& k) {
      auto it = k.drivers.find(driver);
      return it != k.drivers.end() && it->second != drivers::DriverState::missing;
    });
    if (!any) {
      std::string kernels;
      for (const auto& k : in.kernels) {
        kernels += (kernels.empty() ? "" : ", ") + k.version;
      }
      fatal(ExitCode::unsupported_guest,
            "no kernel has the {} driver the {} target needs to reach its disk (kernels: {}); "
            "install a kernel that has it",
            driver, target.name, kernels);
    }
  }
  // Each storage driver is in some kernel; whether one kernel has what the disk needs, and which
  // kernel a default_kernel action would pick, is the boot kernel choice.
  auto choice = choose_boot_kernel(in, target);
  if (!choice) {
    fatal(ExitCode::unsupported_guest, "{}", choice.error().message);
  }
  log::debug("boot kernel for {}: {}", target.name, choice->kernel->version);
  for (const auto& note : choice->notes) {
    log::debug("boot kernel: {}", note);
  }
}

void print_checks(const std::vector<Check>& checks)
{
  for (const auto& c : checks) {
    log::progress("  {} {}: {}", c.passed ? "ok  " : "FAIL", c.name, c.detail);
  }
}

std::string boot_log_path(const std::string& image)
{
  return image + ".boot.log";
}

// The target may need drivers beyond those inspection reports on: their state is read too.
void add_target_driver_states(Guest& guest, Inspection& inspection, const TargetProfile& target)
{
  for (auto& kernel : inspection.kernels) {
    for (const auto& [name, state] :
         drivers::kernel_driver_states(guest, kernel.version, target.all_drivers())) {
      kernel.drivers.emplace(name, state);
    }
  }
}

// Writing a new initramfs next to the old one (kept until the new one is in place) needs room
// on /boot, and package scripts need some on /: stop before writing anything when it is not
// there (DOMAIN.md, "Crash-consistent input").
void require_free_space(Guest& guest, const Inspection& in)
{
  uint64_t largest = 0;
  for (const auto& k : in.kernels) {
    if (!k.initramfs.empty()) {
      if (auto info = guest.stat(k.initramfs); info && info->size > largest) {
        largest = info->size;
      }
    }
  }
  constexpr uint64_t k_mib = 1 << 20;
  struct Need {
    const char* path;
    uint64_t bytes;
  };
  for (const Need& need : {Need{"/boot", std::max<uint64_t>(2 * largest, 8 * k_mib) + 4 * k_mib},
                           Need{"/", 16 * k_mib}}) {
    auto space = guest.free_space(need.path);
    if (!space) {
      continue; // not knowable here; the rebuild itself will tell
    }
    if (space->free_bytes < need.bytes || space->free_inodes < 64) {
      fatal(ExitCode::conversion_failed,
            "the file system holding {} has {} MiB and {} inodes free; the conversion needs about "
            "{} MiB there (a new initramfs beside the old one): free some space in the source "
            "(old kernels, logs) and launch again",
            need.path, space->free_bytes / k_mib, space->free_inodes,
            (need.bytes + k_mib - 1) / k_mib);
    }
  }
}

// What `convert` and `plan` take from their options into the actions.
struct ConversionInputs {
  std::string windows_drivers;
  std::string packages_dir;
  bool keep_network = false;
  drivers::HiveLogs hive_logs = drivers::HiveLogs::refuse;
  std::string initramfs = "auto";
};

template <typename Options>
ConversionInputs inputs_of(const Options& o)
{
  return {o.drivers, o.packages_dir, o.keep_network,
          o.discard_hive_logs ? drivers::HiveLogs::discard : drivers::HiveLogs::refuse,
          o.initramfs};
}

// The passes `convert` and `plan` share: inspect the opened guest, pick the rules, run their
// actions. Returns the inspection made before the changes.
Inspection inspect_and_convert(Passes& passes, Report& report, GuestSession& session,
                               const RuleSet& rules, const TargetProfile& target,
                               const Source& source, const CommonOptions& common,
                               const ConversionInputs& in)
{
  // What is on the disk: OS, kernels, bootloader, tools.
  Inspection inspection =
      passes.run("Inspecting the guest", [&] { return inspect_session(session, source.path); });
  report.inspection = to_json(inspection);
  add_target_driver_states(*session.guest, inspection, target);

  // Which rules apply, and whether the target can be reached at all.
  std::vector<const Rule*> plan = passes.run("Planning", [&] {
    auto matched = matching_rules(rules, inspection, target.name);
    if (matched.empty()) {
      fatal(ExitCode::unsupported_guest,
            "no rule handles {} {} (family {}, bootloader {}, initramfs tool {}); add a rule "
            "file for it (see rules/README.md)",
            inspection.os.id, inspection.os.version_id, inspection.os.family,
            inspection.bootloader.empty() ? "none" : inspection.bootloader,
            inspection.initramfs_tool.empty() ? "none" : inspection.initramfs_tool);
    }
    if (auto firmware = check_firmware(inspection, target); !firmware.passed) {
      fatal(ExitCode::unsupported_guest, "{}", firmware.detail);
    }
    // A Windows guest has no kernels to check: its drivers come from packages. Its hives must
    // hold every change Windows made, or their logs be given up explicitly.
    if (!inspection.windows) {
      require_target_drivers(inspection, target);
      require_free_space(*session.guest, inspection);
    } else if (!inspection.windows->unclean_hives.empty()
               && in.hive_logs == drivers::HiveLogs::refuse) {
      std::string problems;
      for (const auto& p : inspection.windows->unclean_hives) {
        problems += (problems.empty() ? "" : "; ") + p;
      }
      fatal(ExitCode::unsupported_guest, "{}; {}", problems, k_unclean_hive_advice);
    }
    for (const Rule* r : matched) {
      report.rules.push_back(r->id);
    }
    return matched;
  });

  // Each action of each matching rule, in order.
  passes.run("Converting", [&] {
    ActionContext context{*session.guest, inspection, target, common.command_timeout};
    context.windows_drivers = in.windows_drivers;
    context.packages_dir = in.packages_dir;
    context.keep_network = in.keep_network;
    context.hive_logs = in.hive_logs;
    context.done = &report.actions;
    // A second on the host against 10 s for the guest's tool natively and a minute or more in
    // an appliance under TCG (docs/initramfs.md).
    context.repack_initramfs = in.initramfs != "rebuild";
    context.repack_required = in.initramfs == "repack";
    for (const Rule* rule : plan) {
      for (const auto& action : rule->actions) {
        ActionRecord record;
        record.rule = rule->id;
        auto result = run_action(context, action, record);
        for (const auto& warning : record.warnings) {
          log::warning("{}", warning);
          report.warnings.push_back(warning);
        }
        report.actions.push_back(record);
        interrupt::check();
        if (!result) {
          fatal(ExitCode::conversion_failed, "{} ({} action at {})", result.error().message,
                action.type, action.location.text());
        }
      }
    }
  });
  return inspection;
}

} // namespace

int run_inspect(const CommonOptions& common, const InspectOptions& o)
{
  Source source = open_source(o.source, DirectoryUse::allowed);
  log::progress("Opening {}", source.path);
  GuestSession session = open_session(source, source.path, source.format, DiskAccess::read_only,
                                      o.root, parse_backend(common.backend));
  log::progress("Inspecting");
  Inspection inspection = inspect_session(session, source.path);
  session.close();
  if (o.json) {
    nlohmann::json j = to_json(inspection);
    j["source"] = source.path;
    j["appliance_launches"] = GuestfsGuest::launches();
    j["backend"] = session.backend;
    // Guest file names and contents may hold invalid UTF-8: replaced, never an exception.
    std::fputs((j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n").c_str(),
               stdout);
  } else {
    std::fputs(to_text(inspection).c_str(), stdout);
  }
  return 0;
}

int run_convert(const CommonOptions& common, const ConvertOptions& o)
{
  Report report;
  report.command = "convert";
  report.source = o.source;
  report.target = o.target;
  return with_report(report, o.report, [&] {
    Passes passes(report);

    // Rules first: a broken rule file or an unknown target stops before any disk is touched.
    RuleSet rules = load_rule_set(common);
    const TargetProfile& target = require_target(rules, o.target);

    // The source is checked, never opened for writing.
    Source source = open_source(o.source, DirectoryUse::refused);
    report.source = source.path;

    // The output starts as a qcow2 overlay on the source, under a temporary name.
    OutputImage output(o.output, source, o.force ? Overwrite::allow : Overwrite::refuse);
    report.output = output.path();
    GuestSession session = passes.run("Opening the source", [&] {
      output.create_overlay(source);
      return open_session(source, output.temp_path(), "qcow2", DiskAccess::read_write, o.root,
                          parse_backend(common.backend));
    });
    report.backend = session.backend;

    // Inspect, choose the rules, apply their actions.
    Inspection inspection =
        inspect_and_convert(passes, report, session, rules, target, source, common, inputs_of(o));

    // Read the result back and check it.
    std::string guest_firmware = "bios";
    passes.run("Validating", [&] {
      Inspection after = inspect_session(session, source.path);
      guest_firmware = after.firmware;
      add_target_driver_states(*session.guest, after, target);
      nlohmann::json listing;
      report.checks = validate_guest(*session.guest, after, target, &listing);
      report.actions.push_back({"", "verify_initramfs", "", "", {}, {}, {}, listing});
      print_checks(report.checks);
      session.close();
    });
    if (!report.validation_passed()) {
      fatal(ExitCode::validation_failed, "the converted guest failed validation; {} was not made",
            output.path());
    }

    // Optional proof: boot it on the target's devices.
    if (o.boot_test) {
      report.boot_test = passes.run("Boot test", [&] {
        return run_boot_test({output.temp_path(), "qcow2",
                              target.boot_test.for_guest(guest_firmware), o.boot_timeout,
                              boot_log_path(output.path())});
      });
      log::progress("  {} boot test: {}", report.boot_test.passed ? "ok  " : "FAIL",
                    report.boot_test.reason);
      if (!report.boot_test.passed) {
        fatal(ExitCode::validation_failed,
              "boot test failed on {}: {} (console log: {}); {} was not made",
              report.boot_test.devices, report.boot_test.reason, report.boot_test.log_file,
              output.path());
      }
    }

    if (!o.flatten_format.empty()) {
      passes.run("Writing a standalone " + o.flatten_format + " image",
                 [&] { output.flatten(o.flatten_format); });
    }
    report.output_bytes = output.allocated_bytes();
    output.commit();
    report.status = "ok";
    log::progress("Conversion finished");
    std::fputs(summary_text(report).c_str(), stdout);
    return 0;
  });
}

int run_validate(const CommonOptions& common, const ValidateOptions& o)
{
  Report report;
  report.command = "validate";
  report.source = o.image;
  report.target = o.target;
  return with_report(report, o.report, [&] {
    Passes passes(report);
    RuleSet rules = load_rule_set(common);
    const TargetProfile& target = require_target(rules, o.target);
    Source source = open_source(o.image, DirectoryUse::refused);
    report.source = source.path;
    GuestSession session = passes.run("Opening the image", [&] {
      return open_session(source, source.path, source.format, DiskAccess::read_only, o.root,
                          parse_backend(common.backend));
    });
    report.backend = session.backend;
    std::string guest_firmware = "bios";
    passes.run("Validating", [&] {
      Inspection inspection = inspect_session(session, source.path);
      guest_firmware = inspection.firmware;
      add_target_driver_states(*session.guest, inspection, target);
      report.inspection = to_json(inspection);
      report.checks = validate_guest(*session.guest, inspection, target, nullptr);
      print_checks(report.checks);
      session.close();
    });
    if (o.boot_test) {
      report.boot_test = passes.run("Boot test", [&] {
        return run_boot_test({source.path, source.format,
                              target.boot_test.for_guest(guest_firmware), o.boot_timeout,
                              boot_log_path(source.path)});
      });
      log::progress("  {} boot test: {}", report.boot_test.passed ? "ok  " : "FAIL",
                    report.boot_test.reason);
    }
    bool passed = report.validation_passed();
    std::fputs(fmt::format("Validation of {} for {}: {}\n", source.path, target.name,
                           passed ? "passed" : "FAILED")
                   .c_str(),
               stdout);
    if (!passed) {
      std::string failed;
      for (const auto& c : report.checks) {
        if (!c.passed) {
          failed += (failed.empty() ? "" : "; ") + c.name + ": " + c.detail;
        }
      }
      if (report.boot_test.ran && !report.boot_test.passed) {
        failed +=
            (failed.empty() ? "" : "; ") + std::string("boot test: ") + report.boot_test.reason;
      }
      fatal(ExitCode::validation_failed, "{} does not pass validation for {}: {}", source.path,
            target.name, failed);
    }
    return 0;
  });
}

int run_targets(const CommonOptions& common)
{
  RuleSet rules = load_rule_set(common);
  for (const auto& [name, t] : rules.targets) {
    std::string drivers;
    for (const auto& d : t.all_drivers()) {
      drivers += (drivers.empty() ? "" : " ") + d;
    }
    std::fputs(fmt::format("{:<12} {}\n{:<12} drivers: {}; boot test: {} disk{}\n", name,
                           t.description, "", drivers, t.boot_test.disk,
                           t.boot_test.nic.empty() ? "" : ", " + t.boot_test.nic + " NIC")
                   .c_str(),
               stdout);
    if (!t.windows.storage_ids.empty()) {
      std::string ids;
      for (const auto& id : t.windows.storage_ids) {
        ids += (ids.empty() ? "" : " ") + id;
      }
      for (const auto& inbox : t.windows.inbox_storage) {
        ids += " (or Windows' " + inbox + ")";
      }
      std::fputs(fmt::format("{:<12} windows: disk controller {}{}\n", "", ids,
                             t.windows.utc ? "; clock UTC" : "")
                     .c_str(),
                 stdout);
    }
  }
  return 0;
}

} // namespace rehost

namespace rehost {

int run_plan(const CommonOptions& common, const PlanOptions& o)
{
  Report report;
  report.command = "plan";
  report.source = o.source;
  report.target = o.target;
  Passes passes(report);
  RuleSet rules = load_rule_set(common);
  const TargetProfile& target = require_target(rules, o.target);
  Source source = open_source(o.source, DirectoryUse::refused);
  report.source = source.path;

  // The plan is a real conversion on an overlay in a scratch directory, thrown away after.
  std::string scratch = "/tmp/rehost-plan-" + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(scratch.data())) {
    fatal(ExitCode::output_failed, "cannot create a scratch directory in /tmp");
  }
  struct RemoveScratch {
    std::string dir;
    ~RemoveScratch() { ::rmdir(dir.c_str()); }
  } remove_scratch{scratch};
  {
    OutputImage overlay(scratch + "/plan.qcow2", source, Overwrite::refuse);
    GuestSession session = passes.run("Opening the source", [&] {
      overlay.create_overlay(source);
      return open_session(source, overlay.temp_path(), "qcow2", DiskAccess::read_write, o.root,
                          parse_backend(common.backend));
    });
    report.backend = session.backend;
    inspect_and_convert(passes, report, session, rules, target, source, common, inputs_of(o));
    session.close();
  }
  report.status = "ok";
  report.appliance_launches = GuestfsGuest::launches();
  if (o.json) {
    nlohmann::json j = report.to_json();
    j.erase("validation");
    j.erase("output");
    std::fputs((j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n").c_str(),
               stdout);
    return 0;
  }
  std::string out = fmt::format("Plan for {} on {} (rules: ", source.path, target.name);
  for (size_t i = 0; i < report.rules.size(); ++i) {
    out += (i ? ", " : "") + report.rules[i];
  }
  out += "); nothing was written to the source.\n";
  int n = 0;
  for (const auto& a : report.actions) {
    out += fmt::format("\n{}. {} ({}, {})\n", ++n, a.summary.empty() ? "no change" : a.summary,
                       a.type, a.location);
    for (const auto& c : a.commands) {
      std::string argv;
      for (const auto& w : c.argv) {
        argv += (argv.empty() ? "" : " ") + w;
      }
      out += fmt::format("   runs: {}\n", argv);
    }
    for (const auto& c : a.changes) {
      if (!c.diff.empty()) {
        out += c.diff;
      } else {
        out +=
            fmt::format("   {} {} ({} -> {} bytes)\n", c.kind, c.path, c.before_size, c.after_size);
      }
    }
    for (const auto& note : a.notes) {
      out += "   note: " + note + "\n";
    }
    for (const auto& warning : a.warnings) {
      out += "   warning: " + warning + "\n";
    }
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

int run_rules_list(const CommonOptions& common)
{
  RuleSet rules = load_rule_set(common);
  for (const auto& r : rules.rules) {
    std::string line =
        fmt::format("{:<24} {}\n{:<24} from {}", r.id, r.description, "", r.location.file);
    if (!r.extends.empty()) {
      line += ", extends " + r.extends;
    }
    for (const auto& old : r.replaced) {
      line += ", replaces the rule in " + old;
    }
    std::fputs((line + "\n").c_str(), stdout);
  }
  for (const auto& [name, t] : rules.targets) {
    std::fputs(fmt::format("target {:<17} from {}\n", name, t.location.file).c_str(), stdout);
  }
  return 0;
}

int run_rules_lint(const CommonOptions& common, const std::vector<std::string>& paths)
{
  std::vector<std::string> targets = paths;
  std::vector<std::string> known;
  if (targets.empty()) {
    auto dirs = rules_search_path(common.rules_dirs);
    if (!dirs) {
      fatal(ExitCode::bad_rules, "invalid configuration: {}", dirs.error().message);
    }
    targets = *dirs;
  } else if (auto builtin = load_rules({builtin_rules_dir()})) {
    // Rules under lint may extend the built-in ones.
    for (const auto& r : builtin->rules) {
      known.push_back(r.id);
    }
  }
  auto problems = lint_rules(targets, known);
  for (const auto& p : problems) {
    std::fputs((p + "\n").c_str(), stdout);
  }
  if (!problems.empty()) {
    fatal(ExitCode::bad_rules, "{} problem{} in the rules", problems.size(),
          problems.size() == 1 ? "" : "s");
  }
  std::fputs("rules: no problems\n", stdout);
  return 0;
}

int run_rules_explain(const CommonOptions& common, const ExplainOptions& o)
{
  RuleSet rules = load_rule_set(common);
  const TargetProfile& target = require_target(rules, o.target);
  Source source = open_source(o.source, DirectoryUse::allowed);
  GuestSession session = open_session(source, source.path, source.format, DiskAccess::read_only,
                                      o.root, parse_backend(common.backend));
  Inspection in = inspect_session(session, source.path);
  std::string out = fmt::format(
      "{}: {} {} (family {}, bootloader {}, initramfs tool {}), target {}\n", source.path, in.os.id,
      in.os.version_id, in.os.family, in.bootloader.empty() ? "none" : in.bootloader,
      in.initramfs_tool.empty() ? "none" : in.initramfs_tool, target.name);
  int matched = 0;
  for (const auto& r : rules.rules) {
    std::string why;
    bool ok = rule_matches(r, in, target.name, &why, session.guest.get());
    matched += ok ? 1 : 0;
    out += ok ? fmt::format("  matches   {} ({} actions) from {}\n", r.id, r.actions.size(),
                            r.location.file)
              : fmt::format("  no match  {}: {}\n", r.id, why);
  }
  if (matched == 0) {
    out +=
        "No rule matches: `convert` would stop with exit code 4. Add a rule (rules/README.md).\n";
  }
  session.close();
  std::fputs(out.c_str(), stdout);
  return 0;
}

} // namespace rehost
