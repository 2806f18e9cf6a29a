// runnel: the command line (SPEC §1). CLI11 parses; app/commands.cc does the work.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "app/commands.h"

#ifdef RUNNEL_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace {

constexpr int kExitInvalid = 2;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runnel: an analytics runtime for IoT edge gateways.\n"
      "Runs event-time pipelines over MQTT streams and stored sensor logs.",
      "runnel"};
  std::string version = std::string("runnel ") + RUNNEL_VERSION;
#ifdef RUNNEL_WITH_MIMALLOC
  // Naming mimalloc's version also keeps the linker from dropping the allocator library.
  version += " (mimalloc " + std::to_string(mi_version()) + ")";
#endif
  app.set_version_flag("--version", version);
  app.require_subcommand(1);

  runnel::RunArgs run_args;
  CLI::App* run = app.add_subcommand("run",
                                     "Run a pipeline (exits when all sources are static "
                                     "and read whole, otherwise on SIGINT/SIGTERM)");
  run->add_option("PIPELINE", run_args.pipeline, "pipeline file (.toml)")->required();
  run->add_option("--replay", run_args.replays,
                  "SOURCE=PATH: read source SOURCE from a .csv or .jsonl file instead");
  run->add_option("--state-dir", run_args.state_dir,
                  "state directory (overrides [runtime] state_dir)");
  run->add_flag("--reset-state", run_args.reset_state, "delete saved state and start over");
  run->add_flag("--no-dashboard", run_args.no_dashboard, "do not serve the web dashboard");

  std::string check_path;
  CLI::App* check = app.add_subcommand(
      "check", "Validate a pipeline and its device profiles, and print the dataflow graph");
  check->add_option("PIPELINE", check_path, "pipeline file (.toml)")->required();

  runnel::SimulateArgs sim;
  CLI::App* simulate = app.add_subcommand(
      "simulate", "Publish realistic traffic of a device fleet to an MQTT broker (or a file)");
  simulate
      ->add_option("--profile", sim.profile,
                   "device profile: NAME in firmware_configs/, or a .toml path")
      ->required();
  simulate->add_option("--devices", sim.devices, "number of devices (default 10)");
  simulate->add_option("--rate", sim.rate, "messages per second, whole fleet (default 10)");
  simulate->add_option("--duration", sim.duration,
                       "how long to run, e.g. 30s (default: until stopped)");
  simulate->add_option("--disorder", sim.disorder,
                       "event times jitter back by up to this, e.g. 5s");
  simulate->add_option("--clock-skew", sim.clock_skew,
                       "device clocks are off by up to this (default 500ms)");
  simulate->add_option("--late-fraction", sim.late_fraction,
                       "share of late messages (older than the disorder bound)");
  simulate->add_option("--duplicate-fraction", sim.duplicate_fraction,
                       "share of exact redeliveries");
  simulate->add_option("--malformed-fraction", sim.malformed_fraction,
                       "share of payloads that do not decode");
  simulate->add_option("--broker", sim.broker, "broker URI (default tcp://127.0.0.1:1883)");
  simulate->add_option("--username", sim.username, "broker user name");
  simulate->add_option("--password-file", sim.password_file,
                       "broker password file (else RUNNEL_MQTT_PASSWORD)");
  simulate->add_option("--qos", sim.qos, "QoS 0, 1 or 2 (default 1)");
  simulate->add_option("--seed", sim.seed,
                       "random seed: the same seed gives the same messages (default 1)");
  simulate->add_option("--start", sim.start,
                       "event time of the first message: epoch ms or ISO 8601 (default now)");
  simulate->add_option(
      "--output", sim.output,
      "write the messages as JSON lines to FILE (- for stdout) instead of publishing");
  simulate->add_flag("--dry-run", sim.dry_run,
                     "write the messages to stdout instead of publishing");
  runnel::ExportArgs export_args;
  CLI::App* export_cmd =
      app.add_subcommand("export", "Write a source's stored input log to standard output");
  export_cmd->add_option("--state-dir", export_args.state_dir, "state directory of the run")
      ->required();
  export_cmd->add_option("--source", export_args.source, "source name")->required();
  export_cmd->add_option("--format", export_args.format, "csv (default) or jsonl");
  export_cmd->add_option("--since", export_args.since,
                         "first event time (epoch ms or ISO 8601), inclusive");
  export_cmd->add_option("--until", export_args.until,
                         "last event time (epoch ms or ISO 8601), exclusive");

  std::string help_topic;
  CLI::App* help = app.add_subcommand("help", "Show help for a command");
  help->add_option("COMMAND", help_topic, "run, check, simulate or export");

  // CLI11 would only say "A subcommand is required" for a mistyped command.
  const auto is_command = [&](const char* word) {
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == word) return true;
    }
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    std::fprintf(stderr,
                 "runnel: error: unknown command '%s' (commands: run, check, simulate, export, "
                 "help; see runnel --help)\n",
                 argv[1]);
    return kExitInvalid;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitInvalid;
  }

  if (run->parsed()) return runnel::RunCommand(run_args);
  if (check->parsed()) return runnel::CheckCommand(check_path);
  if (simulate->parsed()) return runnel::SimulateCommand(sim);
  if (export_cmd->parsed()) return runnel::ExportCommand(export_args);
  if (help_topic.empty()) {
    std::printf("%s", app.help().c_str());
    return 0;
  }
  for (CLI::App* sub : {run, check, simulate, export_cmd}) {
    if (sub->get_name() == help_topic) {
      std::printf("%s", sub->help().c_str());
      return 0;
    }
  }
  std::fprintf(stderr, "runnel: error: no command '%s' (commands: run, check, simulate, export)\n",
               help_topic.c_str());
  return kExitInvalid;
}
