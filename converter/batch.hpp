// Converting many sources at once (`rehost convert A.img B.img ... -o DIR --parallel N`).
//
// Each source is converted by a child rehost process (conversions use process-wide state: signal
// handling, the native backend's mount namespace), N at a time; what can be shared is shared on
// disk (libguestfs' appliance cache, the KVM verdict). Outputs go to DIR/NAME.qcow2, with
// DIR/NAME.json (the report) and DIR/NAME.log (the child's progress lines).
#pragma once

#include <string>
#include <vector>

#include "converter/commands.hpp"

namespace rehost {

// How many conversions to run at once by default: every core for the native backend, and as
// many appliances (2 GiB each, plus headroom) as memory allows otherwise.
int default_parallelism();

// The command line of the child rehost that converts one source of a batch into `output`,
// with its report in `report`: the batch's global options and every per-conversion option
// (target, boot test, flatten, force, Windows drivers and hive logs).
std::vector<std::string> batch_child_argv(const CommonOptions& common,
                                          const ConvertOptions& options, const std::string& source,
                                          const std::string& output, const std::string& report);

// Converts every source; the exit code is 0 when all succeeded, else that of the first failure.
int run_convert_batch(const CommonOptions& common, const ConvertOptions& options,
                      const std::vector<std::string>& sources, int parallel);

} // namespace rehost
