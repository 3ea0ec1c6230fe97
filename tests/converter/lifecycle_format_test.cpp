// How jobs, their progress logs and machines are printed.
#include <doctest/doctest.h>

#include "converter/lifecycle_format.hpp"

using namespace rehost;

namespace {

// 2024-05-01T12:00:00.123Z
constexpr int64_t k_time = 1714564800123;

JobRecord finished_job()
{
  JobRecord job;
  job.id = 7;
  job.type = JobType::cutover_launch;
  job.status = JobStatus::failed;
  job.machines = {{"web1", LifecycleState::ready_for_cutover, ""}};
  job.started_ms = k_time;
  job.ended_ms = k_time + 83'500;
  job.exit_code = 5;
  job.error = "while Converting: update-grub failed";
  job.owner.pid = 4242;
  return job;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("times are UTC with milliseconds, durations short")
  {
    CHECK(format_time(k_time) == "2024-05-01T12:00:00.123Z");
    CHECK(format_time(0) == "1970-01-01T00:00:00.000Z");
    CHECK(format_duration(4'210) == "4.2s");
    CHECK(format_duration(83'500) == "1m23s");
    CHECK(format_duration(7'260'000) == "2h01m");
  }

  TEST_CASE("a progress log line: time, machine, message")
  {
    JobLogLine line{12, 3, k_time, "web1", "Started taking snapshot"};
    CHECK(format_log_line(line) == "2024-05-01T12:00:00.123Z  web1  Started taking snapshot");
    auto j = to_json(line);
    CHECK(j.dump()
          == R"({"job":3,"machine":"web1","message":"Started taking snapshot",)"
             R"("seq":12,"time":"2024-05-01T12:00:00.123Z"})");
  }

  TEST_CASE("a job as JSON: ended and duration only once it ended")
  {
    auto j = to_json(finished_job());
    CHECK(j["id"] == 7);
    CHECK(j["type"] == "cutover-launch");
    CHECK(j["status"] == "failed");
    CHECK(j["machines"] == nlohmann::json::parse(R"([{"name":"web1","target_image":""}])"));
    CHECK(j["started"] == "2024-05-01T12:00:00.123Z");
    CHECK(j["ended"] == "2024-05-01T12:01:23.623Z");
    CHECK(j["duration_seconds"] == 83.5);
    CHECK(j["exit_code"] == 5);
    CHECK(j["error"] == "while Converting: update-grub failed");
    CHECK(j["pid"] == 4242);

    JobRecord running = finished_job();
    running.status = JobStatus::running;
    running.ended_ms = 0;
    auto r = to_json(running);
    CHECK(r["status"] == "running");
    CHECK(r["ended"].is_null());
    CHECK(r["duration_seconds"].is_null());
  }

  TEST_CASE("the jobs table lines up its columns")
  {
    JobRecord second = finished_job();
    second.id = 12;
    second.type = JobType::test_launch;
    second.status = JobStatus::running;
    second.ended_ms = 0;
    second.machines = {{"database-2", LifecycleState::ready_for_testing, ""}};
    CHECK(jobs_table({finished_job(), second})
          == "ID  TYPE            STATUS   STARTED                   DURATION  MACHINES\n"
             "7   cutover-launch  failed   2024-05-01T12:00:00.123Z  1m23s     web1\n"
             "12  test-launch     running  2024-05-01T12:00:00.123Z  -         database-2\n");
  }

  TEST_CASE("the machines table shows the states and the last launch")
  {
    MachineRecord web;
    web.status = {"web1", LifecycleState::ready_for_cutover, ReplicationState::continuous,
                  Archived::no};
    web.target = "aws-nitro";
    web.last_job = 7;
    MachineRecord db;
    db.status = {"db1", LifecycleState::not_ready, ReplicationState::initial_sync, Archived::no};
    db.target = "kvm";
    std::map<int64_t, JobRecord> jobs = {{7, finished_job()}};
    CHECK(machines_table({web, db}, jobs)
          == "NAME  LIFECYCLE          REPLICATION   TARGET     LAST LAUNCH\n"
             "web1  ready for cutover  continuous    aws-nitro  cutover failed (job 7, "
             "2024-05-01T12:00:00.123Z)\n"
             "db1   not ready          initial-sync  kvm        -\n");
    auto j = to_json(web, jobs);
    CHECK(j["lifecycle"] == "ready-for-cutover");
    CHECK(j["replication"] == "continuous");
    CHECK(j["archived"] == false);
    CHECK(j["last_launch"]["id"] == 7);
    CHECK(j["allowed_actions"]
          == nlohmann::json::parse(R"(["test launch","cutover launch","set replication"])"));
    CHECK(to_json(db, jobs)["last_launch"].is_null());
  }
}
