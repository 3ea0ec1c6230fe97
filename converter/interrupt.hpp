// SIGINT and SIGTERM: stop cleanly, leave nothing behind.
//
// A thread waits for the signals. On the first one it records it, and kills the direct children
// of this process (qemu, qemu-img: they are ours, found by parent PID), so the blocking call in
// the main thread fails and the main thread unwinds through its normal cleanup, then exits with
// 130. If it has not finished 30 seconds later, or on a second signal, the thread removes the
// registered temporary files itself and exits at once (libguestfs' recovery process then kills
// the appliance).
#pragma once

#include <string>

namespace rehost::interrupt {

// Blocks SIGINT/SIGTERM in every thread and starts the waiting thread. Call first in main().
void install();

// Whether a signal arrived; passes check it between steps.
bool requested();

// The signal number that arrived, or 0.
int signal_number();

// Throws Fatal(ExitCode::interrupted) if a signal arrived.
void check();

// Files to remove if the process must exit from the signal thread (temporary outputs).
void register_temporary(const std::string& path);
void unregister_temporary(const std::string& path);

} // namespace rehost::interrupt
