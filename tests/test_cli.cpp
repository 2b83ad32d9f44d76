// The command line's contract: exit status 2 with a one-line reason for bad usage or input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_run.h"
#include "temp_dir.h"

namespace fs = std::filesystem;

namespace {

using fi::testing::CliRun;
using fi::testing::run_cli;
using fi::testing::run_cli_prefixed;

void expect_usage_error(const std::string& arguments, const std::string& mention) {
  const CliRun run = run_cli(arguments);
  EXPECT_EQ(run.status, 2) << arguments << "\n" << run.output;
  EXPECT_EQ(run.output.rfind("error: ", 0), 0u) << run.output;
  EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
  EXPECT_NE(run.output.find(mention), std::string::npos) << run.output;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A tiny trained model shared by the tests below.
const std::string& tiny_model() {
  static const std::string dir = [] {
    static const fi::testing::TempDir scratch("cli_model");
    const std::string path = scratch.file("tiny");
    const CliRun run = run_cli(
        "train --preset checkerboard --steps 30 --set width=32 --set depth=2 "
        "--seed 4 --device cpu --out " +
        path);
    EXPECT_EQ(run.status, 0) << run.output;
    return path;
  }();
  return dir;
}

}  // namespace

TEST(Cli, VersionAndHelp) {
  const CliRun version = run_cli("--version");
  EXPECT_EQ(version.status, 0);
  EXPECT_NE(version.output.find("LibTorch"), std::string::npos) << version.output;
  EXPECT_NE(version.output.find("CUDA available"), std::string::npos);
  for (const char* command : {"", "train ", "sample ", "eval ", "viz ", "bench "}) {
    const CliRun help = run_cli(std::string(command) + "--help");
    EXPECT_EQ(help.status, 0) << command;
    EXPECT_NE(help.output.find("--"), std::string::npos) << command;
  }
  const CliRun help = run_cli("--help");
  for (const char* command : {"train", "sample", "eval", "viz", "bench", "study", "launch",
                              "likelihood", "train-classifier"}) {
    EXPECT_NE(help.output.find(command), std::string::npos) << command << "\n" << help.output;
  }
}

TEST(Cli, BadUsageExitsTwoWithOneLine) {
  expect_usage_error("train --preset no-such-thing --out /tmp/fi_cli_never", "no-such-thing");
  expect_usage_error("sample --model " + tiny_model() + " --n 0 --out /tmp/fi_cli_never.png",
                     "--n");
  expect_usage_error("sample --model /nonexistent/fi_model --out /tmp/fi_cli_never.png",
                     "/nonexistent/fi_model");
  expect_usage_error("eval --model " + tiny_model() + " --steps abc", "--steps");
  expect_usage_error("eval --model " + tiny_model() + " --solver leapfrog", "leapfrog");
  expect_usage_error("study nonsense", "nonsense");
  expect_usage_error("study couplings --steps 0", "--steps");
  expect_usage_error("train --preset checkerboard --set colour=red --out /tmp/fi_cli_never",
                     "colour");
  expect_usage_error("bench nothing", "nothing");
  expect_usage_error("frobnicate", "frobnicate");
  EXPECT_FALSE(fs::exists("/tmp/fi_cli_never"));
  EXPECT_FALSE(fs::exists("/tmp/fi_cli_never.png"));
}

// --threads goes before or after the command; the last one wins (run_cli puts "--threads 1"
// first), and the training summary reports what LibTorch was set to.
TEST(Cli, ThreadsFlagWorksAfterTheCommand) {
  const fi::testing::TempDir scratch("cli_threads");
  for (const int threads : {1, 2}) {
    const std::string suffix = threads == 1 ? "" : " --threads 2";
    const CliRun run =
        run_cli("train --preset checkerboard --steps 3 --set width=16 --set depth=1 --json --out " +
                scratch.file("t" + std::to_string(threads)) + suffix);
    ASSERT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("\"threads\":" + std::to_string(threads)), std::string::npos)
        << run.output;
  }
  expect_usage_error("sample --model " + tiny_model() + " --threads -1", "--threads");
}

TEST(Cli, RefusesToOverwriteAModelWithoutForce) {
  expect_usage_error("train --preset checkerboard --steps 5 --out " + tiny_model(), "--resume");
}

TEST(Cli, SameSeedSameSamples) {
  const fi::testing::TempDir scratch("cli");
  const std::string a = scratch.file("a.csv"), b = scratch.file("b.csv");
  for (const auto& out : {a, b}) {
    const CliRun run = run_cli("sample --model " + tiny_model() +
                               " --n 500 --solver rk4 --steps 5 --seed 9 --out " + out);
    ASSERT_EQ(run.status, 0) << run.output;
  }
  const std::string text = read(a);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 501);
  EXPECT_EQ(text, read(b));
}

TEST(Cli, EvalPrintsJsonOnTheLastLine) {
  const CliRun run = run_cli("eval --model " + tiny_model() + " --n 300 --solver dopri5 --json");
  ASSERT_EQ(run.status, 0) << run.output;
  std::string last = run.output;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
  EXPECT_EQ(last.front(), '{');
  for (const char* key : {"\"in_square_fraction\"", "\"square_balance\"", "\"w2\"", "\"nfe\"",
                          "\"solver\":\"dopri5\"", "\"n\":300", "\"seconds\""}) {
    EXPECT_NE(last.find(key), std::string::npos) << key << " in " << last;
  }
}

TEST(Cli, SampleAndVizWritePictures) {
  const fi::testing::TempDir scratch("cli");
  const std::string dir = scratch.file("pictures");
  CliRun run =
      run_cli("sample --model " + tiny_model() + " --n 1000 --steps 5 --out " + dir + "/s.png");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_TRUE(fs::exists(dir + "/s.png"));
  EXPECT_TRUE(fs::exists(dir + "/s.csv"));
  run = run_cli("viz --model " + tiny_model() +
                " --n 1000 --particles 50 --frames 5 --steps 5 --out " + dir);
  ASSERT_EQ(run.status, 0) << run.output;
  for (const char* file : {"density.png", "trajectories.png", "vector_field.png", "flow.gif"}) {
    EXPECT_GT(fs::file_size(dir + "/" + file), 100u) << file;
  }
}

// The last line of a command's output with --json.
std::string last_line(const std::string& output) {
  const std::string trimmed = output.substr(0, output.find_last_not_of('\n') + 1);
  return trimmed.substr(trimmed.find_last_of('\n') + 1);
}

TEST(Cli, EveryCommandThatProducesAResultPrintsJson) {
  const fi::testing::TempDir scratch("cli_json");
  CliRun run = run_cli("sample --model " + tiny_model() + " --n 50 --steps 3 --json --out " +
                       scratch.file("s.csv"));
  ASSERT_EQ(run.status, 0) << run.output;
  std::string last = last_line(run.output);
  EXPECT_EQ(last.front(), '{') << last;
  for (const char* key : {"\"n\":50", "\"nfe\":3", "\"out\":", "\"seconds\""})
    EXPECT_NE(last.find(key), std::string::npos) << key << " in " << last;
  run = run_cli("viz --model " + tiny_model() + " --n 100 --particles 10 --frames 3 --steps 3 " +
                "--json --out " + scratch.file("viz"));
  ASSERT_EQ(run.status, 0) << run.output;
  last = last_line(run.output);
  EXPECT_NE(last.find("\"pictures\":[\"density.png\""), std::string::npos) << last;
  run = run_cli("prompt --task force --seed 2 --json --out " + scratch.file("p.png"));
  ASSERT_EQ(run.status, 0) << run.output;
  last = last_line(run.output);
  EXPECT_NE(last.find("\"task\":\"force\""), std::string::npos) << last;
}

TEST(Cli, UnboundedNumbersAndPicturesOverModelFilesAreRefused) {
  const fi::testing::TempDir scratch("cli_hostile");
  const std::string model = " --model " + tiny_model();
  expect_usage_error("--threads 100000 sample" + model + " --out " + scratch.file("s.csv"),
                     "--threads");
  expect_usage_error("sample" + model + " --steps 0 --out " + scratch.file("s.csv"), "100000");
  expect_usage_error("sample" + model + " --cfg nan --out " + scratch.file("s.csv"), "nan");
  expect_usage_error("prompt --task force --size 32768 --out " + scratch.file("p.png"), "--size");
  // Writers of pictures never replace a model's files.
  expect_usage_error("prompt --task force --out " + tiny_model() + "/model.safetensors", ".png");
  expect_usage_error("prompt --task force --out " + scratch.file("p.png") + " --answer " +
                         tiny_model() + "/checkpoint/state.safetensors",
                     ".png");
  expect_usage_error(
      "likelihood" + model + " --n 10 --out-image " + tiny_model() + "/model.safetensors", ".png");
  EXPECT_EQ(run_cli("eval" + model + " --n 50 --steps 2").status, 0);  // the model is intact
  expect_usage_error(
      "train --preset checkerboard --set steps=1000000000000000000 --out " + scratch.file("m"),
      "steps");
  expect_usage_error(
      "train --preset checkerboard --set sample_steps=2000000000 --out " + scratch.file("m"),
      "sample_steps");
}

TEST(Cli, OneSpellingPerFlag) {
  // --batch-size everywhere (train-classifier said --batch); translate takes the shared model
  // flags (--model, --seed, --device, the solver's).
  const CliRun help = run_cli("train-classifier --help");
  EXPECT_NE(help.output.find("--batch-size"), std::string::npos) << help.output;
  const CliRun translate = run_cli("translate --help");
  for (const char* flag : {"--model", "--seed", "--device", "--solver", "--steps", "--json"})
    EXPECT_NE(translate.output.find(flag), std::string::npos) << flag;
}

TEST(Cli, InterruptWritesACheckpointThatResumes) {
  const fi::testing::TempDir scratch("cli");
  const std::string dir = scratch.file("interrupted");
  // SIGINT after five seconds of a run far too long to finish (loading LibTorch alone can take
  // two under a parallel ctest); --preserve-status passes on the program's own exit status
  // (130 after an interrupt). --foreground: without it timeout signals the child and then its
  // whole process group, so the program can get a second SIGINT, which (as a second Ctrl-C
  // should) ends it at once, before its message.
  CliRun run = run_cli_prefixed("timeout --foreground --preserve-status -s INT 5 ",
                                "train --preset checkerboard --steps 1000000 --set width=32 "
                                "--set depth=2 --device cpu --out " +
                                    dir);
  EXPECT_EQ(run.status, 130) << run.output;
  EXPECT_NE(run.output.find("--resume"), std::string::npos) << run.output;
  ASSERT_TRUE(fs::exists(dir + "/checkpoint/state.safetensors"));
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors"));
  const CliRun eval = run_cli("eval --model " + dir + " --n 100 --steps 2 --json");
  EXPECT_EQ(eval.status, 0) << eval.output;
  // Resume (configuration from the checkpoint) for three more steps.
  const auto at = run.output.find("stopped at step ");
  ASSERT_NE(at, std::string::npos);
  const long stopped = std::stol(run.output.substr(at + 16));
  run = run_cli("train --resume --steps " + std::to_string(stopped + 3) + " --out " + dir);
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("trained " + std::to_string(stopped + 3) + " steps"), std::string::npos)
      << run.output;
}

TEST(Cli, NormalizingFlowTrainsSamplesScoresAndRefusesViz) {
  const fi::testing::TempDir scratch("cli_flow");
  const std::string dir = scratch.file("realnvp");
  CliRun run = run_cli(
      "train --preset realnvp-checkerboard --steps 20 --set width=16 "
      "--set flow_layers=2 --device cpu --out " +
      dir);
  ASSERT_EQ(run.status, 0) << run.output;
  run = run_cli("sample --model " + dir + " --n 200 --temperature 0.5 --with-logp --out " + dir +
                "/s.csv");
  ASSERT_EQ(run.status, 0) << run.output;
  const std::string csv = read(dir + "/s.csv");
  EXPECT_EQ(csv.rfind("x,y,logp\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 201);
  run = run_cli("likelihood --model " + dir + " --n 300 --no-image --json");
  ASSERT_EQ(run.status, 0) << run.output;
  for (const char* key : {"\"nll_nats\"", "\"bits_per_dim\"", "\"model\":\"realnvp\"",
                          "\"true_entropy_nats\"", "\"count\":300"}) {
    EXPECT_NE(run.output.find(key), std::string::npos) << key << " in " << run.output;
  }
  expect_usage_error("viz --model " + dir + " --out " + dir + "/viz", "normalizing flow");
}

TEST(Cli, HostileBytesInAConfigurationNeverReachTheTerminal) {
  const fi::testing::TempDir scratch("cli_hostile");
  {
    // An escape sequence that would clear the screen, and a byte that is not UTF-8.
    std::ofstream config(scratch.file("bad.toml"));
    config << "target = \"checkerboard\"\nmodel = \"\\u001b[2J\\u009bmlp\"\n";
  }
  const CliRun run =
      run_cli("train --config " + scratch.file("bad.toml") + " --out " + scratch.file("model"));
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_EQ(run.output.find('\x1b'), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("\xc2\x9b"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("\\x1b[2J\\xc2\\x9bmlp"), std::string::npos) << run.output;
  const CliRun command = run_cli(std::string("tra\x1bin"));
  EXPECT_EQ(command.status, 2) << command.output;
  EXPECT_EQ(command.output.find('\x1b'), std::string::npos) << command.output;
}

// Dopri5 asked for tolerances a float32 state cannot meet shrinks its step to nothing: an error
// saying so with a hint (exit 2), not an "internal failure" (exit 1). Tolerances below what a
// double resolves are refused before solving.
TEST(Cli, AnAdaptiveSolveThatGivesUpIsAnErrorWithAHint) {
  const fi::testing::TempDir scratch("cli_gave_up");
  const std::string sample =
      "sample --model " + tiny_model() + " --n 2 --solver dopri5 --out " + scratch.file("s.csv");
  const CliRun run = run_cli(sample + " --rtol 1e-13 --atol 1e-13");
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find("[solve_ode] dopri5"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("fixed-step solver"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("internal failure"), std::string::npos) << run.output;
  expect_usage_error(sample + " --rtol 1e-300", "at least 1e-14");
}
