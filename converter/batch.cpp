#include "converter/batch.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "converter/interrupt.hpp"
#include "converter/log.hpp"
#include "converter/native_disk.hpp"
#include "converter/process.hpp"

namespace rehost {

namespace fs = std::filesystem;

int default_parallelism()
{
  long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  if (NativeDisk::available(nullptr)) {
    return static_cast<int>(cores);
  }
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGE_SIZE);
  long gib = pages > 0 && page > 0 ? (pages / 1024) * (page / 1024) / (1024 * 1024) : 4;
  return static_cast<int>(std::clamp(gib / 3, 1L, cores));
}

namespace {

struct Job {
  std::string source;
  std::string name;
  std::string output;
  std::string report;
  std::string log;
  BackgroundProcess process;
  std::chrono::steady_clock::time_point start;
  int exit_code = -1;
  double seconds = 0;
  std::string error;
};

std::string last_error_line(const std::string& log)
{
  std::ifstream in(log);
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    if (line.rfind("rehost: error:", 0) == 0) {
      found = line.substr(15);
    }
  }
  return found;
}

} // namespace

std::vector<std::string> batch_child_argv(const CommonOptions& common, const ConvertOptions& o,
                                          const std::string& source, const std::string& output,
                                          const std::string& report)
{
  std::vector<std::string> argv = {"/proc/self/exe", "--backend", common.backend,
                                   "--command-timeout",
                                   std::to_string(common.command_timeout.count())};
  for (const auto& dir : common.rules_dirs) {
    argv.insert(argv.end(), {"--rules-dir", dir});
  }
  argv.insert(argv.end(),
              {"convert", source, "--target", o.target, "-o", output, "--report", report});
  if (o.boot_test) {
    argv.insert(argv.end(),
                {"--boot-test", "--boot-timeout", std::to_string(o.boot_timeout.count())});
  }
  if (!o.flatten_format.empty()) {
    argv.insert(argv.end(), {"--flatten", o.flatten_format});
  }
  if (o.force) {
    argv.push_back("--force");
  }
  if (!o.drivers.empty()) {
    argv.insert(argv.end(), {"--drivers", o.drivers});
  }
  if (o.discard_hive_logs) {
    argv.push_back("--discard-hive-logs");
  }
  if (o.keep_network) {
    argv.push_back("--keep-network");
  }
  if (o.initramfs != "auto") {
    argv.insert(argv.end(), {"--initramfs", o.initramfs});
  }
  if (!o.packages_dir.empty()) {
    argv.insert(argv.end(), {"--packages-dir", o.packages_dir});
  }
  return argv;
}

int run_convert_batch(const CommonOptions& common, const ConvertOptions& o,
                      const std::vector<std::string>& sources, int parallel)
{
  if (!o.root.empty() || !o.report.empty()) {
    fatal(ExitCode::usage,
          "{} cannot be used with several sources: each gets its own report, DIR/NAME.json",
          o.root.empty() ? "--report" : "--root");
  }
  std::error_code ec;
  if (!fs::is_directory(o.output, ec)) {
    fatal(ExitCode::output_failed,
          "{}: with several sources, -o names a directory for the outputs, and it does not exist",
          o.output);
  }
  if (parallel <= 0) {
    parallel = default_parallelism();
  }
  std::vector<Job> jobs;
  std::map<std::string, std::string> names;
  for (const auto& source : sources) {
    std::string name = fs::path(source).stem().string();
    if (names.count(name)) {
      fatal(ExitCode::usage, "{} and {} would both be written as {}.qcow2; rename one", names[name],
            source, name);
    }
    names[name] = source;
    Job job;
    job.source = source;
    job.name = name;
    job.output = (fs::path(o.output) / (name + ".qcow2")).string();
    job.report = (fs::path(o.output) / (name + ".json")).string();
    job.log = (fs::path(o.output) / (name + ".log")).string();
    jobs.push_back(std::move(job));
  }
  log::progress("Converting {} sources for {}, {} at a time", jobs.size(), o.target, parallel);

  auto command = [&](const Job& job) {
    return batch_child_argv(common, o, job.source, job.output, job.report);
  };

  size_t next = 0;
  size_t done = 0;
  std::vector<size_t> running;
  while (done < jobs.size()) {
    interrupt::check();
    while (running.size() < static_cast<size_t>(parallel) && next < jobs.size()) {
      Job& job = jobs[next];
      auto p = BackgroundProcess::spawn(command(job), job.log);
      if (!p) {
        fatal(ExitCode::internal, "cannot start a converter: {}", p.error().message);
      }
      job.process = std::move(*p);
      job.start = std::chrono::steady_clock::now();
      log::progress("Started {} ({}/{})", job.source, next + 1, jobs.size());
      running.push_back(next++);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (auto it = running.begin(); it != running.end();) {
      Job& job = jobs[*it];
      int status = 0;
      if (!job.process.finished(&status)) {
        ++it;
        continue;
      }
      job.exit_code = status;
      job.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - job.start).count();
      if (status == 0) {
        log::progress("Finished {} in {:.1f} s: {}", job.source, job.seconds, job.output);
      } else {
        job.error = last_error_line(job.log);
        log::progress("Failed {} (exit {}): {}", job.source, status,
                      job.error.empty() ? "see " + job.log : job.error);
      }
      ++done;
      it = running.erase(it);
    }
  }
  int first_failure = 0;
  int failed = 0;
  std::string summary;
  for (const auto& job : jobs) {
    summary +=
        fmt::format("  {:<8} {:>7.1f} s  {}{}\n", job.exit_code == 0 ? "ok" : "FAILED", job.seconds,
                    job.source, job.exit_code == 0 ? " -> " + job.output : ": " + job.error);
    if (job.exit_code != 0) {
      ++failed;
      if (first_failure == 0) {
        first_failure = job.exit_code > 0 ? job.exit_code : static_cast<int>(ExitCode::internal);
      }
    }
  }
  std::fputs(fmt::format("Converted {} of {} sources for {}:\n{}", jobs.size() - failed,
                         jobs.size(), o.target, summary)
                 .c_str(),
             stdout);
  if (failed) {
    fatal(static_cast<ExitCode>(first_failure), "{} of {} conversions failed (reports in {})",
          failed, jobs.size(), o.output);
  }
  return 0;
}

} // namespace rehost
