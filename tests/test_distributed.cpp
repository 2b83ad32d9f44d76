// Data-parallel training over c10d (Gloo on 127.0.0.1): the environment's variables, the gradient
// reducer's buckets, and whole runs of the flowinone program as 1 and 2 ranks: equivalence with
// one process on the global batch, rank 0 alone writing, resume, and peers that die or hang.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "flowinone/io/safetensors.h"
#include "flowinone/train/distributed.h"
#include "flowinone/train/gradient_reducer.h"
#include "temp_dir.h"

extern char** environ;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// A port no one listens on now (the kernel's pick; a race with other programs is unlikely).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

fi::EnvLookup lookup_in(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto found = values.find(name);
    if (found == values.end()) return std::nullopt;
    return found->second;
  };
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One flowinone process started with extra environment variables, its output in a file.
class Process {
 public:
  Process(const std::vector<std::string>& arguments, const std::vector<std::string>& env,
          const std::string& output_file)
      : output_file_(output_file) {
    std::vector<std::string> args = {FLOWINONE_CLI_PATH, "--threads", "1"};
    args.insert(args.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> environment;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      if (name != "RANK" && name != "WORLD_SIZE" && name != "LOCAL_RANK" && name != "MASTER_ADDR" &&
          name != "MASTER_PORT")
        environment.push_back(entry);
    }
    environment.insert(environment.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int number) const { ::kill(pid_, number); }
  /// The exit status (128 + signal when killed), or -1 when still running after `seconds`.
  int wait(double seconds) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
    while (status_ < 0) {
      int raw = 0;
      if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        break;
      }
      if (Clock::now() > deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return status_;
  }
  std::string output() const { return read_text(output_file_); }

 private:
  std::string output_file_;
  pid_t pid_ = -1;
  int status_ = -1;
};

std::vector<std::string> rank_env(int rank, int world_size, int port) {
  return {"RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world_size),
          "LOCAL_RANK=" + std::to_string(rank), "MASTER_ADDR=127.0.0.1",
          "MASTER_PORT=" + std::to_string(port)};
}

// A tiny 2D model that trains in well under a second per hundred steps; sigma > 0 so the path's
// noise, drawn for the global batch, is part of what must match.
std::vector<std::string> train_args(const std::string& out, int steps, int batch_size,
                                    int shards = 1) {
  // clang-format off
  return {"train", "--preset", "checkerboard", "--set", "shards=" + std::to_string(shards),
          "--set", "width=32", "--set", "depth=2", "--set", "fourier_features=0",
          "--set", "sigma=0.05", "--set", "lr_schedule=constant", "--set", "warmup_steps=3",
          "--set", "batch_size=" + std::to_string(batch_size), "--set", "checkpoint_every=1000",
          "--steps", std::to_string(steps), "--seed", "3", "--device", "cpu", "--out", out};
  // clang-format on
}

void expect_same_tensors(const std::string& a_path, const std::string& b_path,
                         const std::string& prefix, double rtol, double atol = 1e-6) {
  const auto a = fi::load_safetensors(a_path).tensors;
  const auto b = fi::load_safetensors(b_path).tensors;
  int compared = 0;
  for (const auto& [name, tensor] : a) {
    if (name.rfind(prefix, 0) != 0) continue;
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(torch::allclose(tensor, b.at(name), rtol, atol))
        << name << " max difference " << (tensor - b.at(name)).abs().max().item<double>();
    ++compared;
  }
  EXPECT_GT(compared, 3);
}

// Builds without the Gloo headers have no CPU backend; their multi-rank tests are skipped.
#define SKIP_WITHOUT_GLOO()                                   \
  if (!fi::distributed_backend_available(c10::Device("cpu"))) \
  GTEST_SKIP() << "this build has no Gloo backend"

int run_to_end(Process& process, double seconds = 60) {
  const int status = process.wait(seconds);
  EXPECT_GE(status, 0) << "still running after " << seconds << " s";
  return status;
}

// Waits until rank 0 trains (it has written the log's header into `out`), and a little more.
void wait_until_training(const std::string& out) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!fs::exists(out + "/train_log.csv") && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

}  // namespace

TEST(DistributedEnv, ReadsTorchrunVariablesWithDefaults) {
  EXPECT_FALSE(fi::distributed_requested(lookup_in({})));
  const auto options =
      fi::distributed_options_from_env(lookup_in({{"WORLD_SIZE", "4"}, {"RANK", "2"}}));
  EXPECT_EQ(options.world_size, 4);
  EXPECT_EQ(options.rank, 2);
  EXPECT_EQ(options.local_rank, 2);  // LOCAL_RANK defaults to RANK
  EXPECT_EQ(options.master_addr, "127.0.0.1");
  EXPECT_EQ(options.master_port, 29500);
  EXPECT_EQ(options.timeout, fi::kDefaultDistributedTimeout);
  const auto given = fi::distributed_options_from_env(lookup_in({{"WORLD_SIZE", "8"},
                                                                 {"RANK", "5"},
                                                                 {"LOCAL_RANK", "1"},
                                                                 {"MASTER_ADDR", "10.0.0.7"},
                                                                 {"MASTER_PORT", "1234"}}));
  EXPECT_EQ(given.local_rank, 1);
  EXPECT_EQ(given.master_addr, "10.0.0.7");
  EXPECT_EQ(given.master_port, 1234);
}

TEST(DistributedEnv, BadVariablesNameTheVariable) {
  auto expect_error = [](std::map<std::string, std::string> env, const std::string& mention) {
    try {
      fi::distributed_options_from_env(lookup_in(env));
      ADD_FAILURE() << "no error for " << mention;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(mention), std::string::npos) << error.what();
    }
  };
  expect_error({{"WORLD_SIZE", "2"}}, "RANK");
  expect_error({{"WORLD_SIZE", "2"}, {"RANK", "2"}}, "RANK=2");
  expect_error({{"WORLD_SIZE", "two"}, {"RANK", "0"}}, "WORLD_SIZE='two'");
  expect_error({{"WORLD_SIZE", "0"}, {"RANK", "0"}}, "WORLD_SIZE");
  expect_error({{"WORLD_SIZE", "2"}, {"RANK", "-1"}}, "RANK");
  expect_error({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "70000"}}, "MASTER_PORT");
  expect_error({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "12ab"}}, "MASTER_PORT");
}

TEST(DistributedEnv, CudaRanksTakeTheirLocalGpu) {
  EXPECT_EQ(fi::device_for_rank(c10::Device("cuda"), 3), c10::Device("cuda:3"));
  EXPECT_EQ(fi::device_for_rank(c10::Device("cuda:1"), 3), c10::Device("cuda:1"));
  EXPECT_EQ(fi::device_for_rank(c10::Device("cpu"), 3), c10::Device("cpu"));
}

// With one rank the mean over ranks is the gradient itself, so any slip in the bucket layout
// (offsets, order, the hooks' accumulation) shows as a changed gradient.
TEST(GradientReducer, TinyBucketsAndAccumulationKeepEveryGradient) {
  SKIP_WITHOUT_GLOO();
  fi::DistributedOptions options;
  options.master_port = free_port();
  options.timeout = std::chrono::seconds(10);
  const auto context = fi::DistributedContext::connect(options, c10::Device("cpu"));
  torch::manual_seed(0);
  torch::nn::Linear first(3, 5), second(5, 2);
  auto net = [&](const torch::Tensor& x) {
    return second->forward(torch::tanh(first->forward(x)));
  };
  std::vector<torch::Tensor> parameters = first->parameters();
  for (const auto& p : second->parameters()) parameters.push_back(p);
  const torch::Tensor x1 = torch::randn({4, 3}), x2 = torch::randn({6, 3});
  // Reference: gradients of two micro-batches, accumulated by autograd.
  net(x1).pow(2).sum().backward();
  net(x2).pow(2).sum().backward();
  std::vector<torch::Tensor> expected;
  for (const auto& p : parameters) {
    expected.push_back(p.grad().clone());
    p.mutable_grad() = torch::Tensor();
  }
  for (const bool overlap : {true, false}) {
    fi::GradientReducerOptions reducer_options;
    reducer_options.bucket_bytes = 40;  // 10 floats: several buckets, some holding one tensor
    reducer_options.overlap = overlap;
    fi::GradientReducer reducer(parameters, context, reducer_options);
    EXPECT_GE(reducer.num_buckets(), 3);
    net(x1).pow(2).sum().backward();
    reducer.prepare_for_backward();  // armed for the last micro-batch only
    net(x2).pow(2).sum().backward();
    reducer.finish();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      EXPECT_TRUE(torch::allclose(parameters[i].grad(), expected[i], 1e-6, 1e-7))
          << "overlap " << overlap << ", parameter " << i;
      parameters[i].mutable_grad() = torch::Tensor();
    }
  }
}

// 2 ranks with batch B each reach the weights of 1 process with batch 2B; rank 1 writes nothing;
// a 2-rank run stopped half-way and resumed (started by `launch`) ends where the whole run does.
TEST(DistributedTraining, TwoRanksMatchOneProcessAndResumeExactly) {
  SKIP_WITHOUT_GLOO();
  const fi::testing::TempDir scratch("ddp");
  const int steps = 12, batch = 64;
  Process single(train_args(scratch.file("single"), steps, 2 * batch), {},
                 scratch.file("single.txt"));
  ASSERT_EQ(run_to_end(single), 0) << single.output();

  const int port = free_port();
  // Different output folders per rank: rank 1's must stay empty. Tiny buckets exercise the
  // gradient hooks across several all-reduces per step.
  std::vector<std::string> rank0_args = train_args(scratch.file("rank0"), steps, batch);
  std::vector<std::string> rank1_args = train_args(scratch.file("rank1"), steps, batch);
  for (auto* args : {&rank0_args, &rank1_args}) {
    args->insert(args->end(), {"--bucket-mb", "0.002", "--dist-timeout", "30"});
  }
  Process rank0(rank0_args, rank_env(0, 2, port), scratch.file("rank0.txt"));
  Process rank1(rank1_args, rank_env(1, 2, port), scratch.file("rank1.txt"));
  ASSERT_EQ(run_to_end(rank0), 0) << rank0.output();
  ASSERT_EQ(run_to_end(rank1), 0) << rank1.output();
  EXPECT_FALSE(fs::exists(scratch.file("rank1"))) << "rank 1 wrote files";
  EXPECT_TRUE(rank1.output().empty()) << rank1.output();
  ASSERT_TRUE(fs::exists(scratch.file("rank0/checkpoint/state.safetensors")));

  expect_same_tensors(scratch.file("single/model.safetensors"),
                      scratch.file("rank0/model.safetensors"), "", 1e-4);
  expect_same_tensors(scratch.file("single/checkpoint/state.safetensors"),
                      scratch.file("rank0/checkpoint/state.safetensors"), "model.", 1e-4);
  // The logged loss is the global batch's mean, as in the single process.
  const std::string single_log = read_text(scratch.file("single/train_log.csv"));
  const std::string ranks_log = read_text(scratch.file("rank0/train_log.csv"));
  EXPECT_EQ(std::count(single_log.begin(), single_log.end(), '\n'),
            std::count(ranks_log.begin(), ranks_log.end(), '\n'));

  auto launch = [&](int run_steps, bool resume) {
    std::vector<std::string> args = {
        "launch", "--nproc", "2", "--master-port", std::to_string(free_port()), "--"};
    const auto train = train_args(scratch.file("split"), run_steps, batch);
    args.insert(args.end(), train.begin(), train.end());
    if (resume) args.push_back("--resume");
    Process process(args, {}, scratch.file("split.txt"));
    const int status = run_to_end(process);
    return std::make_pair(status, process.output());
  };
  const auto first = launch(steps / 2, false);
  ASSERT_EQ(first.first, 0) << first.second;
  const auto second = launch(steps, true);
  ASSERT_EQ(second.first, 0) << second.second;
  EXPECT_NE(second.second.find("trained " + std::to_string(steps) + " steps"), std::string::npos)
      << second.second;
  // Bucket sizes do not change the sums: the resumed run matches the whole one to rounding.
  expect_same_tensors(scratch.file("rank0/checkpoint/state.safetensors"),
                      scratch.file("split/checkpoint/state.safetensors"), "", 1e-5);
}

// Gradient shards inside each rank: the shards fill .grad without the reducer's hooks, and the
// all-reduce after the last one must still average the whole gradient.
TEST(DistributedTraining, ShardedRanksMatchOneShardedProcess) {
  SKIP_WITHOUT_GLOO();
  const fi::testing::TempDir scratch("ddp_shards");
  const int steps = 10, batch = 64;
  Process single(train_args(scratch.file("single"), steps, 2 * batch, 4), {},
                 scratch.file("single.txt"));
  ASSERT_EQ(run_to_end(single), 0) << single.output();
  std::vector<std::string> args = {
      "launch", "--nproc", "2", "--master-port", std::to_string(free_port()), "--"};
  const auto train = train_args(scratch.file("split"), steps, batch, 2);
  args.insert(args.end(), train.begin(), train.end());
  Process ranks(args, {}, scratch.file("split.txt"));
  ASSERT_EQ(run_to_end(ranks), 0) << ranks.output();
  expect_same_tensors(scratch.file("single/model.safetensors"),
                      scratch.file("split/model.safetensors"), "", 1e-4);
  expect_same_tensors(scratch.file("single/checkpoint/state.safetensors"),
                      scratch.file("split/checkpoint/state.safetensors"), "model.", 1e-4);
}

// The same for a small UNet on image pairs (VisPrompt-mini with drawn items): condition images,
// input dropout and the bridge's noise are all drawn for the global batch and sharded by rank.
TEST(DistributedTraining, TwoRanksMatchOneProcessForASmallUNet) {
  SKIP_WITHOUT_GLOO();
  const fi::testing::TempDir scratch("ddp_unet");
  const int steps = 4, batch = 3;
  auto args = [&](const std::string& out, int batch_size) {
    // clang-format off
    return std::vector<std::string>{"train", "--preset", "visprompt",
        "--set", "data_dir=synthetic", "--set", "base_channels=8", "--set", "sample_every=0",
        "--set", "warmup_steps=2", "--set", "batch_size=" + std::to_string(batch_size),
        "--set", "accum=2", "--steps", std::to_string(steps), "--seed", "4", "--device", "cpu",
        "--out", out, "--dist-timeout", "60"};
    // clang-format on
  };
  Process single(args(scratch.file("single"), 2 * batch), {}, scratch.file("single.txt"));
  ASSERT_EQ(run_to_end(single), 0) << single.output();
  const int port = free_port();
  Process rank0(args(scratch.file("rank0"), batch), rank_env(0, 2, port), scratch.file("r0.txt"));
  Process rank1(args(scratch.file("rank1"), batch), rank_env(1, 2, port), scratch.file("r1.txt"));
  ASSERT_EQ(run_to_end(rank0), 0) << rank0.output();
  ASSERT_EQ(run_to_end(rank1), 0) << rank1.output();
  // The bar: allclose at rtol 1e-4. It holds because the UNet has no parameter whose true
  // gradient is zero (tests/test_unet.cpp): Adam would turn such a gradient's rounding noise,
  // which the summation order changes, into steps of size lr.
  expect_same_tensors(scratch.file("single/model.safetensors"),
                      scratch.file("rank0/model.safetensors"), "", 1e-4);
}

// A rank killed mid-run: the survivor's next all-reduce fails at once, with a message.
TEST(DistributedTraining, KilledRankEndsTheOtherWithAnError) {
  SKIP_WITHOUT_GLOO();
  const fi::testing::TempDir scratch("ddp");
  const int port = free_port();
  auto args = train_args(scratch.file("out"), 1000000, 32);
  args.insert(args.end(), {"--dist-timeout", "3"});
  Process rank0(args, rank_env(0, 2, port), scratch.file("rank0.txt"));
  Process rank1(args, rank_env(1, 2, port), scratch.file("rank1.txt"));
  wait_until_training(scratch.file("out"));
  rank1.signal(SIGKILL);
  const auto killed_at = Clock::now();
  const int status = rank0.wait(10);
  const double seconds = std::chrono::duration<double>(Clock::now() - killed_at).count();
  EXPECT_NE(status, 0) << rank0.output();
  EXPECT_GT(status, 0) << "rank 0 still running " << seconds << " s after its peer died";
  EXPECT_LT(seconds, 3 + 2.0);
  const std::string output = rank0.output();
  EXPECT_NE(output.find("error: [distributed]"), std::string::npos) << output;
  EXPECT_NE(output.find("rank 0 of 2"), std::string::npos) << output;
}

// A rank that hangs (stopped): the other fails when the timeout runs out, not never.
TEST(DistributedTraining, HangingRankTimesOutTheOther) {
  SKIP_WITHOUT_GLOO();
  const fi::testing::TempDir scratch("ddp");
  const int port = free_port();
  auto args = train_args(scratch.file("out"), 1000000, 32);
  args.insert(args.end(), {"--dist-timeout", "2"});
  Process rank0(args, rank_env(0, 2, port), scratch.file("rank0.txt"));
  Process rank1(args, rank_env(1, 2, port), scratch.file("rank1.txt"));
  wait_until_training(scratch.file("out"));
  rank1.signal(SIGSTOP);
  const auto stopped_at = Clock::now();
  const int status = rank0.wait(12);
  const double seconds = std::chrono::duration<double>(Clock::now() - stopped_at).count();
  rank1.signal(SIGKILL);
  EXPECT_GT(status, 0) << rank0.output();
  EXPECT_GT(seconds, 1.0);  // it waited for the peer, as a slow step deserves
  EXPECT_LT(seconds, 2 + 3.0);
  EXPECT_NE(rank0.output().find("timeout"), std::string::npos) << rank0.output();
}

TEST(DistributedTraining, RendezvousMistakesExitTwoWithTheReason) {
  SKIP_WITHOUT_GLOO();
  const fi::testing::TempDir scratch("ddp");
  const auto args = train_args(scratch.file("out"), 5, 16);
  {  // a rank outside the world
    Process rank(args, rank_env(3, 2, free_port()), scratch.file("a.txt"));
    EXPECT_EQ(run_to_end(rank), 2) << rank.output();
    EXPECT_NE(rank.output().find("RANK=3"), std::string::npos) << rank.output();
  }
  {  // the port taken by another program
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = 0;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    Process rank(args, rank_env(0, 1, ntohs(address.sin_port)), scratch.file("b.txt"));
    const int status = run_to_end(rank);
    ::close(fd);
    EXPECT_EQ(status, 2) << rank.output();
    EXPECT_NE(rank.output().find("MASTER_PORT"), std::string::npos) << rank.output();
  }
  {  // ranks disagreeing on WORLD_SIZE
    const int port = free_port();
    auto short_timeout = args;
    short_timeout.insert(short_timeout.end(), {"--dist-timeout", "1.5"});
    Process rank0(short_timeout, rank_env(0, 2, port), scratch.file("c0.txt"));
    Process rank1(short_timeout, rank_env(1, 3, port), scratch.file("c1.txt"));
    EXPECT_EQ(run_to_end(rank1), 2) << rank1.output();
    EXPECT_NE(rank1.output().find("WORLD_SIZE=3"), std::string::npos) << rank1.output();
    // Rank 0 waits for a second rank that never comes, and says so when its timeout ends.
    EXPECT_EQ(run_to_end(rank0), 1) << rank0.output();
    EXPECT_NE(rank0.output().find("1 of 2 ranks joined"), std::string::npos) << rank0.output();
  }
}

// launch passes on a failed rank's status and reason, and refuses commands that cannot run as
// ranks.
TEST(DistributedTraining, LaunchEndsWithAFailedRanksStatus) {
  SKIP_WITHOUT_GLOO();
  const fi::testing::TempDir scratch("ddp");
  Process bad_config({"launch", "--nproc", "2", "--master-port", std::to_string(free_port()), "--",
                      "train", "--preset", "no-such-preset", "--out", scratch.file("out")},
                     {}, scratch.file("a.txt"));
  EXPECT_EQ(run_to_end(bad_config), 2) << bad_config.output();
  EXPECT_NE(bad_config.output().find("no-such-preset"), std::string::npos) << bad_config.output();
  Process not_a_rank({"launch", "--nproc", "2", "--", "sample", "--model", scratch.file("out")}, {},
                     scratch.file("b.txt"));
  EXPECT_EQ(run_to_end(not_a_rank), 2) << not_a_rank.output();
  EXPECT_NE(not_a_rank.output().find("sample"), std::string::npos) << not_a_rank.output();
  EXPECT_FALSE(fs::exists(scratch.file("out")));
}
