// CheckpointManager: atomic, verified checkpoints with a `latest` pointer (see checkpoint.h).
#include "attnlab/train/checkpoint.h"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "attnlab/util/sha256.h"

namespace attnlab::train {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'A', 'T', 'T', 'N', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 32;

// A checkpoint file that is unreadable, truncated, fails its SHA-256, or whose verified
// payload LibTorch cannot read or lacks an entry: load_latest skips it and tries the previous
// one. Any other CheckpointError (format, config) stops the run.
class DamagedCheckpoint : public CheckpointError {
 public:
  using CheckpointError::CheckpointError;
};

void write_all(int fd, const void* data, size_t size, const fs::path& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      throw CheckpointError("cannot write checkpoint " + path.string() + ": " + std::strerror(errno) +
                            " (is the disk full?)");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Writes `bytes` to `path` durably: temp file, fsync, rename, fsync of the directory.
void write_atomically(const fs::path& path, const std::string& header, const std::string& payload,
                      bool with_crash_points) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    throw CheckpointError("cannot create " + tmp.string() + ": " + std::strerror(errno));
  }
  write_all(fd, header.data(), header.size(), tmp);
  if (with_crash_points) {
    write_all(fd, payload.data(), payload.size() / 2, tmp);
    checkpoint_crash_point(1);
    write_all(fd, payload.data() + payload.size() / 2, payload.size() - payload.size() / 2, tmp);
  } else {
    write_all(fd, payload.data(), payload.size(), tmp);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw CheckpointError("cannot flush " + tmp.string() + ": " + std::strerror(errno));
  }
  if (with_crash_points) checkpoint_crash_point(2);
  fs::rename(tmp, path);
  fsync_dir(path.parent_path());
}

std::string tensor_to_string(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel());
}

torch::Tensor string_to_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr(), s.data(), s.size());
  return t;
}

nlohmann::json meta_to_json(const CheckpointMeta& m) {
  const auto& p = m.progress;
  return {{"next_step", p.next_step},
          {"tokens_seen", p.tokens_seen},
          {"loader_epoch", p.loader.epoch},
          {"loader_index", p.loader.index},
          {"consecutive_skips", p.consecutive_skips},
          {"config_fingerprint", m.config_fingerprint},
          {"code_version", m.code_version}};
}

CheckpointMeta meta_from_json(const nlohmann::json& j) {
  CheckpointMeta m;
  m.progress.next_step = j.at("next_step").get<int64_t>();
  m.progress.tokens_seen = j.at("tokens_seen").get<uint64_t>();
  m.progress.loader.epoch = j.at("loader_epoch").get<uint64_t>();
  m.progress.loader.index = j.at("loader_index").get<uint64_t>();
  m.progress.consecutive_skips = j.at("consecutive_skips").get<int64_t>();
  m.config_fingerprint = j.at("config_fingerprint").get<std::string>();
  m.code_version = j.at("code_version").get<std::string>();
  return m;
}

// Every default generator whose state a resumed run needs: the CPU one, and each CUDA device's.
std::vector<std::pair<std::string, at::Generator>> generators() {
  std::vector<std::pair<std::string, at::Generator>> out;
  out.emplace_back("rng.cpu", at::detail::getDefaultCPUGenerator());
  if (torch::cuda::is_available()) {
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
      out.emplace_back("rng.cuda" + std::to_string(i),
                       at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, i)));
    }
  }
  return out;
}

std::string serialize(const torch::nn::Module& model, const torch::optim::Optimizer& optimizer,
                      const CheckpointMeta& meta) {
  torch::serialize::OutputArchive archive;
  for (const auto& p : model.named_parameters()) archive.write("model." + p.key(), p.value());
  for (const auto& b : model.named_buffers()) archive.write("model." + b.key(), b.value(), true);
  torch::serialize::OutputArchive opt_archive;
  optimizer.save(opt_archive);
  archive.write("optimizer", opt_archive);
  for (auto& [name, gen] : generators()) {
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write(name, gen.get_state(), true);
  }
  archive.write("meta.json", string_to_tensor(meta_to_json(meta).dump()), true);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

// Reads and verifies one checkpoint file; throws DamagedCheckpoint (skippable) or, for another
// format version, CheckpointError, saying what is wrong.
std::string read_verified_payload(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DamagedCheckpoint("cannot open " + path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    throw DamagedCheckpoint(path.string() + " is not an attnlab checkpoint (bad magic or truncated)");
  }
  uint32_t version = 0;
  uint64_t size = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&size, bytes.data() + 12, 8);
  if (version != kCheckpointFormatVersion) {
    throw CheckpointError(path.string() + " has checkpoint format " + std::to_string(version) +
                          ", this attnlab reads format " +
                          std::to_string(kCheckpointFormatVersion) +
                          "; run with --restart to start this run over, or use the attnlab that "
                          "wrote it");
  }
  if (bytes.size() != kHeaderBytes + size) {
    throw DamagedCheckpoint(path.string() + " is truncated: " + std::to_string(bytes.size()) +
                            " bytes, header says " + std::to_string(kHeaderBytes + size));
  }
  const std::string payload = bytes.substr(kHeaderBytes);
  const std::string stored(bytes.data() + 20, 32);
  std::string expected_hex;
  const auto actual_hex = util::sha256_hex(payload.data(), payload.size());
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : stored) {
    expected_hex += hex[c >> 4];
    expected_hex += hex[c & 15];
  }
  if (actual_hex != expected_hex) {
    throw DamagedCheckpoint(path.string() + " is damaged: SHA-256 " + actual_hex +
                            " does not match the recorded " + expected_hex);
  }
  return payload;
}

std::string make_header(const std::string& payload) {
  std::string header(kMagic, 8);
  const uint32_t version = kCheckpointFormatVersion;
  const uint64_t size = payload.size();
  header.append(reinterpret_cast<const char*>(&version), 4);
  header.append(reinterpret_cast<const char*>(&size), 8);
  const auto digest_hex = util::sha256_hex(payload.data(), payload.size());
  for (size_t i = 0; i < 64; i += 2) {
    header.push_back(static_cast<char>(std::stoi(digest_hex.substr(i, 2), nullptr, 16)));
  }
  return header;
}

// A checkpoint's contents read out of its archive before anything is applied, so a file that
// turns out damaged half-way leaves the model as it was.
struct DecodedCheckpoint {
  CheckpointMeta meta;
  std::vector<torch::Tensor> parameters, buffers;  // model.named_parameters()/buffers() order
  torch::serialize::InputArchive optimizer;
  std::vector<torch::Tensor> rng_states;  // generators() order
};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// The tensor `key`, which must have the shape of `like` (the model's own).
torch::Tensor read_like(torch::serialize::InputArchive& archive, const std::string& key,
                        const torch::Tensor& like, bool is_buffer, const fs::path& path) {
  torch::Tensor t;
  archive.read(key, t, is_buffer);
  if (t.sizes() != like.sizes()) {
    throw DamagedCheckpoint(path.string() + " is damaged: " + key + " has shape " +
                            c10::str(t.sizes()) + ", the model's has " + c10::str(like.sizes()));
  }
  return t;
}

// Reads a verified payload. An archive LibTorch cannot read (a payload whose checksum was
// recomputed over garbage), a missing entry or a wrong shape is a DamagedCheckpoint naming
// `path`; a checkpoint of another config is a CheckpointError.
DecodedCheckpoint decode(const fs::path& path, const std::string& payload,
                         const torch::nn::Module& model, const std::string& fingerprint) {
  try {
    // Read onto the CPU whatever device wrote it: parameters are copied onto the model's
    // device in apply() and the trainer moves the optimizer state, so a run may resume on
    // another GPU or on the CPU.
    torch::serialize::InputArchive archive;
    archive.load_from(payload.data(), payload.size(), torch::Device(torch::kCPU));
    torch::Tensor meta_bytes;
    archive.read("meta.json", meta_bytes);
    DecodedCheckpoint out;
    out.meta = meta_from_json(nlohmann::json::parse(tensor_to_string(meta_bytes)));
    if (out.meta.config_fingerprint != fingerprint) {
      throw CheckpointError(path.string() +
                            " was written by a run with a different config (model, data, train or "
                            "attention changed); run with --restart to start this run over");
    }
    for (const auto& p : model.named_parameters()) {
      out.parameters.push_back(read_like(archive, "model." + p.key(), p.value(), false, path));
    }
    for (const auto& b : model.named_buffers()) {
      out.buffers.push_back(read_like(archive, "model." + b.key(), b.value(), true, path));
    }
    archive.read("optimizer", out.optimizer);
    for (auto& [name, gen] : generators()) {
      std::lock_guard<std::mutex> lock(gen.mutex());
      out.rng_states.push_back(read_like(archive, name, gen.get_state(), true, path));
    }
    return out;
  } catch (const CheckpointError&) {
    throw;
  } catch (const c10::Error& e) {
    throw DamagedCheckpoint(path.string() + " is damaged: LibTorch cannot read its payload (" +
                            first_line(e.what_without_backtrace()) + ")");
  } catch (const std::exception& e) {  // meta.json: not JSON, or a field missing
    throw DamagedCheckpoint(path.string() + " is damaged: its meta.json is unreadable (" +
                            first_line(e.what()) + ")");
  }
}

// Restores a decoded checkpoint. The optimizer goes first: it is the one part that can still
// fail (LibTorch reads its whole state before replacing the optimizer's), and the model is
// then untouched.
void apply(DecodedCheckpoint& c, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
           const fs::path& path) {
  try {
    optimizer.load(c.optimizer);
  } catch (const c10::Error& e) {
    throw DamagedCheckpoint(path.string() + " is damaged: its optimizer state is unreadable (" +
                            first_line(e.what_without_backtrace()) + ")");
  }
  torch::NoGradGuard no_grad;
  auto parameters = model.named_parameters();
  for (size_t i = 0; i < c.parameters.size(); ++i) parameters[i].value().copy_(c.parameters[i]);
  auto buffers = model.named_buffers();
  for (size_t i = 0; i < c.buffers.size(); ++i) buffers[i].value().copy_(c.buffers[i]);
  auto gens = generators();
  for (size_t i = 0; i < gens.size(); ++i) {
    std::lock_guard<std::mutex> lock(gens[i].second.mutex());
    gens[i].second.set_state(c.rng_states[i]);
  }
}

}  // namespace

void checkpoint_crash_point(int stage) {
  static const int crash_at = [] {
    const char* env = std::getenv("ATTNLAB_CHECKPOINT_CRASH_AT");
    return env ? std::atoi(env) : 0;
  }();
  if (crash_at == stage) {
    std::fprintf(stderr, "attnlab: injected crash at checkpoint stage %d\n", stage);
    std::abort();
  }
}

CheckpointManager::CheckpointManager(fs::path dir, int keep) : dir_(std::move(dir)), keep_(keep) {}

std::vector<fs::path> CheckpointManager::list() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind("step_", 0) == 0 && e.path().extension() == ".ckpt") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());  // step numbers are zero-padded
  return out;
}

fs::path CheckpointManager::save(const torch::nn::Module& model,
                                 const torch::optim::Optimizer& optimizer,
                                 const CheckpointMeta& meta) {
  fs::create_directories(dir_);
  const std::string payload = serialize(model, optimizer, meta);
  char name[64];
  std::snprintf(name, sizeof(name), "step_%010lld.ckpt",
                static_cast<long long>(meta.progress.next_step));
  const fs::path path = dir_ / name;
  write_atomically(path, make_header(payload), payload, true);
  checkpoint_crash_point(3);
  write_atomically(dir_ / "latest", "", std::string(name) + "\n", false);
  checkpoint_crash_point(4);
  auto all = list();
  for (size_t i = 0; i + keep_ < all.size(); ++i) fs::remove(all[i]);
  remove_temp_files();
  return path;
}

std::optional<CheckpointMeta> CheckpointManager::load_latest(torch::nn::Module& model,
                                                             torch::optim::Optimizer& optimizer,
                                                             const std::string& fingerprint) {
  auto all = list();
  // Newest first; `latest` normally names the last one, but a crash between the rename and
  // the pointer update leaves a newer complete file, which verifies and is used.
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      auto decoded = decode(*it, read_verified_payload(*it), model, fingerprint);
      apply(decoded, model, optimizer, *it);
      return decoded.meta;
    } catch (const DamagedCheckpoint& e) {
      std::fprintf(stderr, "attnlab: warning: skipping checkpoint: %s; trying the previous one\n",
                   e.what());
    }
  }
  return std::nullopt;
}

CheckpointMeta load_checkpoint_file(const fs::path& path, torch::nn::Module& model,
                                    torch::optim::Optimizer& optimizer,
                                    const std::string& fingerprint) {
  auto decoded = decode(path, read_verified_payload(path), model, fingerprint);
  apply(decoded, model, optimizer, path);
  return decoded.meta;
}

namespace {

// The newest checkpoint in `dir` that verifies, with its payload; damaged ones are skipped
// with a warning.
std::optional<std::pair<fs::path, std::string>> newest_verified(const fs::path& dir) {
  const auto all = CheckpointManager(dir, 1).list();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      return std::make_pair(*it, read_verified_payload(*it));
    } catch (const DamagedCheckpoint& e) {
      std::fprintf(stderr, "attnlab: warning: skipping checkpoint: %s; trying the previous one\n",
                   e.what());
    }
  }
  return std::nullopt;
}

// The checkpoint file train.init_from names and its verified payload.
std::pair<fs::path, std::string> init_checkpoint(const fs::path& from) {
  const std::string what = "train.init_from=" + from.string() + ": ";
  const std::string give = "; give a step_*.ckpt file, a checkpoints/ folder or a run folder";
  if (fs::is_regular_file(from)) return {from, read_verified_payload(from)};
  if (!fs::is_directory(from)) throw CheckpointError(what + "no such file or folder" + give);
  const bool holds_checkpoints = !CheckpointManager(from, 1).list().empty();
  const fs::path dir = holds_checkpoints ? from : from / "checkpoints";
  if (auto found = newest_verified(dir)) return *std::move(found);
  throw CheckpointError(what + dir.string() + " holds no checkpoint (step_*.ckpt) that verifies" +
                        give);
}

// The model.* tensors of a verified payload, on the CPU, by the model's names; `step` is set
// from its meta.json.
std::map<std::string, torch::Tensor> model_tensors(const fs::path& path, const std::string& payload,
                                                   int64_t& step) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(payload.data(), payload.size(), torch::Device(torch::kCPU));
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& key : archive.keys()) {
      if (key.rfind("model.", 0) != 0) continue;
      archive.read(key, tensors[key.substr(6)]);
    }
    torch::Tensor meta_bytes;
    archive.read("meta.json", meta_bytes);
    step = meta_from_json(nlohmann::json::parse(tensor_to_string(meta_bytes))).progress.next_step;
    return tensors;
  } catch (const c10::Error& e) {
    throw CheckpointError(path.string() + " is damaged: LibTorch cannot read its payload (" +
                          first_line(e.what_without_backtrace()) + ")");
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(path.string() + " is damaged: its meta.json is unreadable (" +
                          first_line(e.what()) + ")");
  }
}

// Checks the checkpoint's tensors against the model (see load_model_weights), then copies them.
void copy_model_tensors(const fs::path& path, const std::map<std::string, torch::Tensor>& tensors,
                        torch::nn::Module& model, const std::set<std::string>& keep_own) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : model.named_parameters()) targets[p.key()] = p.value();
  for (const auto& b : model.named_buffers()) targets[b.key()] = b.value();
  for (const auto& [name, t] : tensors) {
    const auto it = targets.find(name);
    if (it == targets.end()) {
      throw CheckpointError("train.init_from: " + path.string() + " holds tensor " + name + " " +
                            c10::str(t.sizes()) + ", which this model does not have; start from "
                            "a checkpoint of the same model (model.* and the variant's parameters)");
    }
    if (t.sizes() != it->second.sizes()) {
      throw CheckpointError("train.init_from: " + path.string() + ": tensor " + name +
                            " has shape " + c10::str(t.sizes()) + " there but " +
                            c10::str(it->second.sizes()) + " in this model; start from a "
                            "checkpoint of the same model shape");
    }
  }
  for (const auto& p : model.named_parameters()) {
    if (tensors.count(p.key()) || keep_own.count(p.key())) continue;
    throw CheckpointError("train.init_from: " + path.string() + " lacks this model's parameter " +
                          p.key() + " " + c10::str(p.value().sizes()) +
                          "; start from a checkpoint of the same model and attention variant");
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors) targets.at(name).copy_(t);
}

}  // namespace

InitialWeights load_model_weights(const fs::path& from, torch::nn::Module& model,
                                  const std::set<std::string>& keep_own) {
  InitialWeights out;
  const auto [file, payload] = init_checkpoint(from);
  out.file = file;
  copy_model_tensors(file, model_tensors(file, payload, out.step), model, keep_own);
  return out;
}

void CheckpointManager::remove_temp_files() const {
  std::error_code ec;
  std::vector<fs::path> temps;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() == ".tmp") temps.push_back(e.path());
  }
  for (const auto& p : temps) fs::remove(p, ec);
}

void CheckpointManager::clear() {
  for (const auto& p : list()) fs::remove(p);
  fs::remove(dir_ / "latest");
  remove_temp_files();
}

}  // namespace attnlab::train
