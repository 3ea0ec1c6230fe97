// A launch: one machine converted from a fresh point-in-time copy of its replica, as one job.
//
// The steps, each logged in the job's progress log:
//   1. claim: check the lifecycle and replication state, create the job and move the machine to
//      "test/cutover in progress", in one transaction;
//   2. delete the previous target, and the snapshot it was backed by;
//   3. take a snapshot of the replica into the staging area (snapshot.hpp);
//   4. convert the snapshot by running this same program as a child process
//      (`rehost convert SNAPSHOT --target T -o TARGET --report REPORT`), so that each launch has
//      its own signal handling and mount namespace and parallel launches cannot disturb each
//      other; its progress lines mark "Finished converting" and "Started validating", its
//      report says what failed. A test target is a qcow2 overlay backed by the snapshot (which
//      stays until the next launch or finalize); a cutover target is a standalone qcow2, so it
//      outlives finalize;
//   5. record the target image and move the machine on, or, on failure, remove what the launch
//      made and move the machine back to where it was.
// The child dies with its parent (PR_SET_PDEATHSIG), so a killed rehost leaves no converter
// running; its job is marked failed by the next rehost that opens the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "converter/error.hpp"
#include "converter/lifecycle.hpp"

namespace rehost {

// Where a state directory keeps what launches make.
struct StateLayout {
  std::string root;

  // root/staging/NAME: the snapshots of NAME's replica.
  std::string staging(const std::string& machine) const;
  // root/targets/NAME: NAME's launched target image.
  std::string targets(const std::string& machine) const;
  // root/jobs/ID: the converter's report and output for a job.
  std::string job_dir(int64_t job) const;
};

enum class BootTest { skip, run };

struct LaunchSettings {
  LaunchMode mode = LaunchMode::test;
  BootTest boot_test = BootTest::skip;
  std::chrono::seconds boot_timeout{600};
  // Global options for the child converter (--rules-dir, --backend), before "convert".
  std::vector<std::string> converter_options;
  // The converter program: this one.
  std::string executable = "/proc/self/exe";
};

struct LaunchOutcome {
  std::string machine;
  int64_t job = 0; // 0 when refused before a job was created
  ExitCode code = ExitCode::ok;
  std::string message; // one line: the target launched, or what failed and what to do
  std::string target_image;
};

// Launches `machine` from the store in `state_dir` as one job. Failures are in the outcome;
// it does not throw for them.
LaunchOutcome launch_machine(const std::string& state_dir, const std::string& machine,
                             const LaunchSettings& settings);

} // namespace rehost
