// The output image: made under a temporary name, renamed into place only when complete.
//
// The temporary file is `.NAME.rehost-partial-PID` next to OUTPUT, so nothing that looks
// finished exists until validation passed. Partial files of processes that no longer exist
// (killed with SIGKILL) are removed by the next run for the same OUTPUT. Two runs writing the
// same OUTPUT at once are not allowed: the second is refused (a lock on `.NAME.rehost-lock`).
#pragma once

#include <string>

#include "converter/error.hpp"
#include "converter/source.hpp"

namespace rehost {

enum class Overwrite { refuse, allow };

class OutputImage {
public:
  // Checks that OUTPUT can be made (its directory exists and is writable, it is not the
  // source, it does not exist unless `overwrite` allows) and picks the temporary name.
  // Throws Fatal(usage or output_failed).
  OutputImage(const std::string& path, const Source& source, Overwrite overwrite);
  // Removes the temporary file unless committed.
  ~OutputImage();

  OutputImage(const OutputImage&) = delete;
  OutputImage& operator=(const OutputImage&) = delete;

  const std::string& path() const { return m_path; }
  const std::string& temp_path() const { return m_temp; }

  // Creates the temporary file as a qcow2 overlay whose backing file is the source (opened
  // read-only by qemu, never written).
  void create_overlay(const Source& source);

  // Replaces the temporary file by a standalone image in `format` (qemu-img convert).
  void flatten(const std::string& format);

  // Flushes the temporary file and renames it to OUTPUT.
  void commit();

  // Bytes allocated by the temporary file.
  uint64_t allocated_bytes() const;

private:
  std::string m_path;
  std::string m_temp;
  std::string m_lock_path;
  int m_lock_fd = -1;
  bool m_committed = false;
};

} // namespace rehost
