#include "converter/state_store.hpp"

#include <pwd.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rehost {

namespace fs = std::filesystem;

namespace {

// Writers wait this long for another writer before giving up (transactions last milliseconds;
// this covers a loaded machine).
constexpr int k_busy_timeout_ms = 30000;
constexpr int k_schema_version = 1;

const char* k_schema = R"(
CREATE TABLE machines (
  name TEXT PRIMARY KEY,
  volume TEXT NOT NULL,
  target TEXT NOT NULL,
  state TEXT NOT NULL,
  replication TEXT NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  target_image TEXT NOT NULL DEFAULT '',
  snapshot TEXT NOT NULL DEFAULT '',
  snapshot_method TEXT NOT NULL DEFAULT '',
  last_job INTEGER NOT NULL DEFAULT 0,
  added_ms INTEGER NOT NULL
);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  owner_pid INTEGER NOT NULL,
  owner_start INTEGER NOT NULL,
  owner_boot TEXT NOT NULL
);
CREATE TABLE job_machines (
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  machine TEXT NOT NULL,
  from_state TEXT NOT NULL,
  target_image TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, machine)
);
CREATE TABLE job_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  time_ms INTEGER NOT NULL,
  machine TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX job_log_by_job ON job_log(job_id, seq);
)";

// One prepared statement; finalized when it goes out of scope.
class Statement {
public:
  Statement(sqlite3* db, const char* sql) : m_db(db)
  {
    m_rc = sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr);
  }
  ~Statement() { sqlite3_finalize(m_stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value)
  {
    if (m_rc == SQLITE_OK) {
      m_rc = sqlite3_bind_int64(m_stmt, index, value);
    }
    return *this;
  }
  Statement& bind(int index, const std::string& value)
  {
    if (m_rc == SQLITE_OK) {
      m_rc = sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()),
                               SQLITE_TRANSIENT);
    }
    return *this;
  }

  // The next row (true), or the end (false).
  Result<bool> step()
  {
    if (m_rc != SQLITE_OK && m_rc != SQLITE_ROW && m_rc != SQLITE_DONE) {
      return fail("{}", sqlite3_errmsg(m_db));
    }
    m_rc = sqlite3_step(m_stmt);
    if (m_rc == SQLITE_ROW) {
      return true;
    }
    if (m_rc == SQLITE_DONE) {
      return false;
    }
    return fail("{}", sqlite3_errmsg(m_db));
  }

  // Runs a statement that returns no rows.
  Result<void> run()
  {
    auto r = step();
    if (!r) {
      return std::unexpected(r.error());
    }
    return {};
  }

  int64_t integer(int column) { return sqlite3_column_int64(m_stmt, column); }
  std::string text(int column)
  {
    const auto* p = sqlite3_column_text(m_stmt, column);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }

private:
  sqlite3* m_db;
  sqlite3_stmt* m_stmt = nullptr;
  int m_rc = SQLITE_OK;
};

std::string read_first_line(const std::string& path)
{
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Field 3 (state) and field 22 (start time in clock ticks since boot) of /proc/PID/stat.
bool read_proc_stat(int pid, char& state, uint64_t& start_ticks)
{
  std::string text = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  size_t close = text.rfind(')'); // the command name may hold spaces and parentheses
  if (close == std::string::npos) {
    return false;
  }
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  // After the name: state is field 3, start time field 22.
  for (int index = 3; index <= 22 && fields >> field; ++index) {
    if (index == 3) {
      state = field.empty() ? '?' : field[0];
    }
    if (index == 22) {
      start_ticks = std::strtoull(field.c_str(), nullptr, 10);
      return true;
    }
  }
  return false;
}

LifecycleState state_or(const std::string& token, LifecycleState fallback)
{
  return parse_lifecycle_state(token).value_or(fallback);
}

JobType job_type_of(const std::string& token)
{
  if (token == "cutover-launch") {
    return JobType::cutover_launch;
  }
  if (token == "finalize") {
    return JobType::finalize;
  }
  return JobType::test_launch;
}

JobStatus job_status_of(const std::string& token)
{
  if (token == "succeeded") {
    return JobStatus::succeeded;
  }
  if (token == "failed") {
    return JobStatus::failed;
  }
  return JobStatus::running;
}

const char* k_machine_columns = "name, volume, target, state, replication, archived, target_image, "
                                "snapshot, snapshot_method, last_job, added_ms";

MachineRecord machine_from_row(Statement& s)
{
  MachineRecord m;
  m.status.name = s.text(0);
  m.volume = s.text(1);
  m.target = s.text(2);
  m.status.state = state_or(s.text(3), LifecycleState::not_ready);
  m.status.replication =
      parse_replication_state(s.text(4)).value_or(ReplicationState::initial_sync);
  m.status.archived = s.integer(5) != 0 ? Archived::yes : Archived::no;
  m.target_image = s.text(6);
  m.snapshot = s.text(7);
  m.snapshot_method = s.text(8);
  m.last_job = s.integer(9);
  m.added_ms = s.integer(10);
  return m;
}

const char* k_job_columns = "id, type, status, started_ms, ended_ms, exit_code, error, owner_pid, "
                            "owner_start, owner_boot";

JobRecord job_from_row(Statement& s)
{
  JobRecord j;
  j.id = s.integer(0);
  j.type = job_type_of(s.text(1));
  j.status = job_status_of(s.text(2));
  j.started_ms = s.integer(3);
  j.ended_ms = s.integer(4);
  j.exit_code = static_cast<int>(s.integer(5));
  j.error = s.text(6);
  j.owner.pid = static_cast<int>(s.integer(7));
  j.owner.start_ticks = static_cast<uint64_t>(s.integer(8));
  j.owner.boot_id = s.text(9);
  return j;
}

} // namespace

ProcessOwner current_process_owner()
{
  ProcessOwner owner;
  owner.pid = static_cast<int>(getpid());
  char state = 0;
  read_proc_stat(owner.pid, state, owner.start_ticks);
  owner.boot_id = read_first_line("/proc/sys/kernel/random/boot_id");
  return owner;
}

bool owner_alive(const ProcessOwner& owner)
{
  if (owner.pid <= 0) {
    return false;
  }
  if (owner.boot_id != read_first_line("/proc/sys/kernel/random/boot_id")) {
    return false; // the machine rebooted since: nothing of that boot runs
  }
  char state = 0;
  uint64_t start = 0;
  if (!read_proc_stat(owner.pid, state, start)) {
    return false;
  }
  return start == owner.start_ticks && state != 'Z' && state != 'X';
}

int64_t now_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string to_token(JobType type)
{
  switch (type) {
  case JobType::test_launch:
    return "test-launch";
  case JobType::cutover_launch:
    return "cutover-launch";
  case JobType::finalize:
    return "finalize";
  }
  return "unknown";
}

std::string to_token(JobStatus status)
{
  switch (status) {
  case JobStatus::running:
    return "running";
  case JobStatus::succeeded:
    return "succeeded";
  case JobStatus::failed:
    return "failed";
  }
  return "unknown";
}

Result<StateStore> StateStore::open(const std::string& directory)
{
  StateStore store;
  std::error_code ec;
  store.m_directory = fs::absolute(directory, ec).lexically_normal().string();
  fs::create_directories(store.m_directory, ec);
  if (ec) {
    return fail("state directory {}: cannot create it: {}; choose another with --state-dir",
                store.m_directory, ec.message());
  }
  store.m_path = (fs::path(store.m_directory) / "state.db").string();
  int rc =
      sqlite3_open_v2(store.m_path.c_str(), &store.m_db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = store.m_db ? sqlite3_errmsg(store.m_db) : sqlite3_errstr(rc);
    return fail("state store {}: cannot open it: {}", store.m_path, why);
  }
  sqlite3_busy_timeout(store.m_db, k_busy_timeout_ms);
  sqlite3_extended_result_codes(store.m_db, 1);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    if (auto r = store.exec(pragma); !r) {
      return store.fail_db(r.error().message);
    }
  }
  auto created = store.transaction([&]() -> Result<void> {
    Statement version(store.m_db, "PRAGMA user_version");
    auto row = version.step();
    if (!row) {
      return store.fail_db(row.error().message);
    }
    int64_t have = *row ? version.integer(0) : 0;
    if (have > k_schema_version) {
      return store.fail_db(fmt::format("it was made by a newer rehost (schema {}, this one "
                                       "knows {}); use that version",
                                       have, k_schema_version));
    }
    if (have == k_schema_version) {
      return {};
    }
    if (auto r = store.exec(k_schema); !r) {
      return store.fail_db(r.error().message);
    }
    if (auto r = store.exec("PRAGMA user_version = 1"); !r) {
      return store.fail_db(r.error().message);
    }
    return {};
  });
  if (!created) {
    return std::unexpected(created.error());
  }
  return store;
}

StateStore::~StateStore()
{
  if (m_db) {
    sqlite3_close_v2(m_db);
  }
}

StateStore::StateStore(StateStore&& other) noexcept
    : m_db(other.m_db), m_directory(std::move(other.m_directory)), m_path(std::move(other.m_path))
{
  other.m_db = nullptr;
}

StateStore& StateStore::operator=(StateStore&& other) noexcept
{
  if (this != &other) {
    if (m_db) {
      sqlite3_close_v2(m_db);
    }
    m_db = other.m_db;
    m_directory = std::move(other.m_directory);
    m_path = std::move(other.m_path);
    other.m_db = nullptr;
  }
  return *this;
}

Result<void> StateStore::exec(const char* sql)
{
  char* message = nullptr;
  if (sqlite3_exec(m_db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message ? message : sqlite3_errmsg(m_db);
    sqlite3_free(message);
    return fail("{}", why);
  }
  return {};
}

Result<void> StateStore::transaction(const std::function<Result<void>()>& body)
{
  if (m_depth > 0) {
    return body(); // already inside one: the outer transaction commits or rolls back
  }
  if (auto r = exec("BEGIN IMMEDIATE"); !r) {
    return fail_db(r.error().message);
  }
  ++m_depth;
  Result<void> result;
  try {
    result = body();
  } catch (...) {
    --m_depth;
    (void)exec("ROLLBACK");
    throw;
  }
  --m_depth;
  if (!result) {
    (void)exec("ROLLBACK");
    return result;
  }
  if (auto r = exec("COMMIT"); !r) {
    (void)exec("ROLLBACK");
    return fail_db(r.error().message);
  }
  return {};
}

std::unexpected<Error> StateStore::fail_db(const std::string& message) const
{
  return fail("state store {}: {}", m_path, message);
}

Result<std::vector<MachineRecord>> StateStore::machines()
{
  Statement s(m_db,
              fmt::format("SELECT {} FROM machines ORDER BY name", k_machine_columns).c_str());
  std::vector<MachineRecord> out;
  while (true) {
    auto row = s.step();
    if (!row) {
      return fail_db(row.error().message);
    }
    if (!*row) {
      return out;
    }
    out.push_back(machine_from_row(s));
  }
}

Result<std::optional<MachineRecord>> StateStore::machine(const std::string& name)
{
  Statement s(m_db,
              fmt::format("SELECT {} FROM machines WHERE name = ?", k_machine_columns).c_str());
  s.bind(1, name);
  auto row = s.step();
  if (!row) {
    return fail_db(row.error().message);
  }
  if (!*row) {
    return std::optional<MachineRecord>();
  }
  return std::optional<MachineRecord>(machine_from_row(s));
}

Result<void> StateStore::insert_machine(const MachineRecord& m)
{
  Statement s(m_db, "INSERT INTO machines (name, volume, target, state, replication, archived, "
                    "target_image, snapshot, snapshot_method, last_job, added_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, m.status.name)
      .bind(2, m.volume)
      .bind(3, m.target)
      .bind(4, to_token(m.status.state))
      .bind(5, to_token(m.status.replication))
      .bind(6, int64_t{m.status.archived == Archived::yes ? 1 : 0})
      .bind(7, m.target_image)
      .bind(8, m.snapshot)
      .bind(9, m.snapshot_method)
      .bind(10, m.last_job)
      .bind(11, m.added_ms);
  if (auto r = s.run(); !r) {
    if (sqlite3_extended_errcode(m_db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return fail("a machine named {} exists already", m.status.name);
    }
    return fail_db(r.error().message);
  }
  return {};
}

Result<void> StateStore::update_machine(const MachineRecord& m)
{
  Statement s(m_db, "UPDATE machines SET volume = ?, target = ?, state = ?, replication = ?, "
                    "archived = ?, target_image = ?, snapshot = ?, snapshot_method = ?, "
                    "last_job = ? WHERE name = ?");
  s.bind(1, m.volume)
      .bind(2, m.target)
      .bind(3, to_token(m.status.state))
      .bind(4, to_token(m.status.replication))
      .bind(5, int64_t{m.status.archived == Archived::yes ? 1 : 0})
      .bind(6, m.target_image)
      .bind(7, m.snapshot)
      .bind(8, m.snapshot_method)
      .bind(9, m.last_job)
      .bind(10, m.status.name);
  if (auto r = s.run(); !r) {
    return fail_db(r.error().message);
  }
  if (sqlite3_changes(m_db) != 1) {
    return fail("machine {} is not in the state store {}", m.status.name, m_path);
  }
  return {};
}

Result<int64_t> StateStore::insert_job(JobType type, const std::vector<JobMachine>& machines,
                                       const ProcessOwner& owner)
{
  int64_t id = 0;
  auto r = transaction([&]() -> Result<void> {
    Statement s(m_db, "INSERT INTO jobs (type, status, started_ms, owner_pid, owner_start, "
                      "owner_boot) VALUES (?, 'running', ?, ?, ?, ?)");
    s.bind(1, to_token(type))
        .bind(2, now_ms())
        .bind(3, int64_t{owner.pid})
        .bind(4, static_cast<int64_t>(owner.start_ticks))
        .bind(5, owner.boot_id);
    if (auto r = s.run(); !r) {
      return fail_db(r.error().message);
    }
    id = sqlite3_last_insert_rowid(m_db);
    for (const auto& m : machines) {
      Statement jm(m_db, "INSERT INTO job_machines (job_id, machine, from_state, target_image) "
                         "VALUES (?, ?, ?, ?)");
      jm.bind(1, id).bind(2, m.name).bind(3, to_token(m.from_state)).bind(4, m.target_image);
      if (auto r = jm.run(); !r) {
        return fail_db(r.error().message);
      }
    }
    return {};
  });
  if (!r) {
    return std::unexpected(r.error());
  }
  return id;
}

Result<void> StateStore::finish_job(int64_t id, JobStatus status, int exit_code,
                                    const std::string& error, const std::string& target_image)
{
  Statement s(m_db, "UPDATE jobs SET status = ?, ended_ms = ?, exit_code = ?, error = ? "
                    "WHERE id = ?");
  s.bind(1, to_token(status))
      .bind(2, now_ms())
      .bind(3, int64_t{exit_code})
      .bind(4, error)
      .bind(5, id);
  if (auto r = s.run(); !r) {
    return fail_db(r.error().message);
  }
  if (!target_image.empty()) {
    Statement t(m_db, "UPDATE job_machines SET target_image = ? WHERE job_id = ?");
    t.bind(1, target_image).bind(2, id);
    if (auto r = t.run(); !r) {
      return fail_db(r.error().message);
    }
  }
  return {};
}

Result<std::vector<JobRecord>> StateStore::jobs()
{
  std::vector<JobRecord> out;
  {
    Statement s(m_db, fmt::format("SELECT {} FROM jobs ORDER BY id", k_job_columns).c_str());
    while (true) {
      auto row = s.step();
      if (!row) {
        return fail_db(row.error().message);
      }
      if (!*row) {
        break;
      }
      out.push_back(job_from_row(s));
    }
  }
  Statement m(m_db, "SELECT job_id, machine, from_state, target_image FROM job_machines "
                    "ORDER BY job_id, machine");
  size_t index = 0;
  while (true) {
    auto row = m.step();
    if (!row) {
      return fail_db(row.error().message);
    }
    if (!*row) {
      break;
    }
    int64_t job = m.integer(0);
    while (index < out.size() && out[index].id < job) {
      ++index;
    }
    if (index < out.size() && out[index].id == job) {
      out[index].machines.push_back(
          {m.text(1), state_or(m.text(2), LifecycleState::not_ready), m.text(3)});
    }
  }
  return out;
}

Result<std::optional<JobRecord>> StateStore::job(int64_t id)
{
  std::optional<JobRecord> out;
  {
    Statement s(m_db, fmt::format("SELECT {} FROM jobs WHERE id = ?", k_job_columns).c_str());
    s.bind(1, id);
    auto row = s.step();
    if (!row) {
      return fail_db(row.error().message);
    }
    if (!*row) {
      return out;
    }
    out = job_from_row(s);
  }
  Statement m(m_db, "SELECT machine, from_state, target_image FROM job_machines WHERE job_id = ? "
                    "ORDER BY machine");
  m.bind(1, id);
  while (true) {
    auto row = m.step();
    if (!row) {
      return fail_db(row.error().message);
    }
    if (!*row) {
      return out;
    }
    out->machines.push_back({m.text(0), state_or(m.text(1), LifecycleState::not_ready), m.text(2)});
  }
}

Result<void> StateStore::append_log(int64_t job, const std::string& machine,
                                    const std::string& message)
{
  Statement s(m_db, "INSERT INTO job_log (job_id, time_ms, machine, message) VALUES (?, ?, ?, ?)");
  s.bind(1, job).bind(2, now_ms()).bind(3, machine).bind(4, message);
  if (auto r = s.run(); !r) {
    return fail_db(r.error().message);
  }
  return {};
}

Result<std::vector<JobLogLine>> StateStore::log_lines(int64_t job, int64_t after_seq)
{
  Statement s(m_db, "SELECT seq, job_id, time_ms, machine, message FROM job_log "
                    "WHERE job_id = ? AND seq > ? ORDER BY seq");
  s.bind(1, job).bind(2, after_seq);
  std::vector<JobLogLine> out;
  while (true) {
    auto row = s.step();
    if (!row) {
      return fail_db(row.error().message);
    }
    if (!*row) {
      return out;
    }
    out.push_back({s.integer(0), s.integer(1), s.integer(2), s.text(3), s.text(4)});
  }
}

Result<std::vector<RecoveredJob>> StateStore::recover_dead_jobs()
{
  std::vector<RecoveredJob> recovered;
  auto r = transaction([&]() -> Result<void> {
    std::vector<JobRecord> dead;
    {
      Statement s(
          m_db, fmt::format("SELECT {} FROM jobs WHERE status = 'running'", k_job_columns).c_str());
      while (true) {
        auto row = s.step();
        if (!row) {
          return fail_db(row.error().message);
        }
        if (!*row) {
          break;
        }
        JobRecord job = job_from_row(s);
        if (!owner_alive(job.owner)) {
          dead.push_back(std::move(job));
        }
      }
    }
    for (const auto& job : dead) {
      const std::string why = fmt::format(
          "the rehost process (PID {}) running this job ended without finishing it (killed?)",
          job.owner.pid);
      Statement end(m_db, "UPDATE jobs SET status = 'failed', ended_ms = ?, exit_code = ?, "
                          "error = ? WHERE id = ?");
      end.bind(1, now_ms())
          .bind(2, int64_t{static_cast<int>(ExitCode::interrupted)})
          .bind(3, why)
          .bind(4, job.id);
      if (auto r = end.run(); !r) {
        return fail_db(r.error().message);
      }
      RecoveredJob out{job.id, job.owner.pid, {}};
      Statement machines(m_db, "SELECT machine, from_state FROM job_machines WHERE job_id = ?");
      machines.bind(1, job.id);
      std::vector<std::pair<std::string, std::string>> rows;
      while (true) {
        auto row = machines.step();
        if (!row) {
          return fail_db(row.error().message);
        }
        if (!*row) {
          break;
        }
        rows.emplace_back(machines.text(0), machines.text(1));
      }
      for (const auto& [name, from_state] : rows) {
        out.machines.push_back(name);
        Statement back(m_db, "UPDATE machines SET state = ? WHERE name = ? AND last_job = ? "
                             "AND state IN ('test-in-progress', 'cutover-in-progress')");
        back.bind(1, from_state).bind(2, name).bind(3, job.id);
        if (auto r = back.run(); !r) {
          return fail_db(r.error().message);
        }
        if (auto r = append_log(job.id, name, "Failed: " + why); !r) {
          return r;
        }
      }
      recovered.push_back(std::move(out));
    }
    return {};
  });
  if (!r) {
    return std::unexpected(r.error());
  }
  return recovered;
}

std::string resolve_state_dir(const std::string& option)
{
  if (!option.empty()) {
    return option;
  }
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
  };
  if (auto dir = env("REHOST_STATE_DIR"); !dir.empty()) {
    return dir;
  }
  if (auto xdg = env("XDG_DATA_HOME"); !xdg.empty()) {
    return (fs::path(xdg) / "rehost").string();
  }
  std::string home = env("HOME");
  if (home.empty()) {
    const passwd* user = getpwuid(getuid());
    home = user && user->pw_dir ? user->pw_dir : "/";
  }
  return (fs::path(home) / ".local" / "share" / "rehost").string();
}

} // namespace rehost
