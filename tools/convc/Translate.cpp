//===- Translate.cpp - `convc translate`
//-----------------------------------===//
//
// Translates a corpus: one source per input line (token ids), one line per
// source out, in the input's order. Sources go to the generator a chunk at
// a time (sorted by length and batched inside the chunk), with a progress
// bar on a terminal and plain progress lines otherwise. A line that cannot
// be translated (not token ids, or refused by the model) is reported with
// its number (lines failing alike, once) and left empty in the output; the
// others are translated, and the command then exits 1.
//
//===----------------------------------------------------------------------===//

#include "GenerationFlags.h"
#include "Subcommands.h"

#include "convc/Generate.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace convc::tool {

namespace {

struct Line {
  size_t number; // 1-based
  std::vector<int64_t> tokens;
  std::string output, error;
};

/// The best hypothesis of each of `lines`; a chunk the model refuses is
/// retried line by line, so one bad line costs only itself.
void translateChunk(const Module &module, const GenerationOptions &options,
                    std::vector<Line *> &lines, size_t &generated) {
  std::vector<std::vector<int64_t>> sources;
  for (Line *l : lines)
    sources.push_back(l->tokens);
  std::vector<Hypothesis> results;
  Status status = generate(module, sources, options, results);
  if (!status.ok() && lines.size() > 1) {
    for (Line *l : lines) {
      std::vector<Line *> one = {l};
      translateChunk(module, options, one, generated);
    }
    return;
  }
  if (!status.ok()) {
    lines[0]->error = status.message();
    return;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string text;
    for (size_t j = 0; j < results[i].tokens.size(); ++j)
      text += (j ? " " : "") + std::to_string(results[i].tokens[j]);
    lines[i]->output = text;
    generated += results[i].tokens.size() + 1;
  }
}

/// "line 3", or "lines 1-4, 7 (5 lines)".
std::string lineList(const std::vector<size_t> &numbers) {
  if (numbers.size() == 1)
    return "line " + std::to_string(numbers[0]);
  std::string text = "lines ";
  for (size_t i = 0; i < numbers.size();) {
    size_t j = i;
    while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1)
      ++j;
    text += (i ? ", " : "") + std::to_string(numbers[i]) +
            (j > i ? "-" + std::to_string(numbers[j]) : "");
    i = j + 1;
  }
  return text + " (" + std::to_string(numbers.size()) + " lines)";
}

void reportProgress(bool terminal, size_t done, size_t total, size_t tokens,
                    double seconds, bool last) {
  double rate = seconds > 0 ? tokens / seconds : 0;
  if (terminal) {
    int width = 30, filled = total ? int(width * done / total) : width;
    llvm::errs() << "\r[" << std::string(filled, '#')
                 << std::string(width - filled, ' ') << "] " << done << "/"
                 << total << " sentences, "
                 << llvm::formatv("{0:f0}", rate) << " tokens/s"
                 << (last ? "\n" : "");
    return;
  }
  llvm::errs() << "convc translate: " << done << "/" << total
               << " sentences, " << tokens << " tokens, "
               << llvm::formatv("{0:f0} tokens/s", rate) << "\n";
}

} // namespace

int runTranslate(int argc, char **argv) {
  namespace cl = llvm::cl;
  cl::SubCommand sub("translate", "");
  cl::OptionCategory category("convc translate options");
  cl::opt<std::string> model(cl::Positional,
                             cl::desc("<Seq2Seq model .so (compiled with "
                                      "--decode-step=decode), or .mlir>"),
                             cl::Required, cl::cat(category), cl::sub(sub));
  cl::opt<std::string> input("input",
                             cl::desc("Sources, one per line as token ids "
                                      "(\"-\": stdin)"),
                             cl::init("-"), cl::cat(category), cl::sub(sub));
  cl::opt<std::string> output("output",
                              cl::desc("Translations, one line per source "
                                       "(\"-\": stdout)"),
                              cl::init("-"), cl::cat(category), cl::sub(sub));
  cl::opt<int> chunk("chunk",
                     cl::desc("Sources per call to the generator (progress "
                              "is reported after each)"),
                     cl::init(256), cl::cat(category), cl::sub(sub));
  cl::opt<int> threads("threads", cl::desc("Threads (default: all cores)"),
                       cl::init(0), cl::cat(category), cl::sub(sub));
  cl::opt<std::string> deviceArg("device", cl::desc("cpu or cuda"),
                                 cl::init("cpu"), cl::cat(category),
                                 cl::sub(sub));
  GenerationFlags flags(category, sub);
  cl::HideUnrelatedOptions(category, sub);
  if (!parseSubcommandLine(argc, argv,
                           "convc translate: translate a corpus of token-id "
                           "lines with a compiled "
                           "Seq2Seq model\n"))
    return 1;
  Device device;
  if (!parseDevice(deviceArg, device, "convc translate"))
    return 1;
  GenerationOptions options;
  if (!flags.apply(options, "convc translate"))
    return 1;
  if (options.numHypotheses != 1 || chunk < 1) {
    llvm::errs() << "convc translate: "
                 << (chunk < 1 ? "--chunk must be >= 1"
                               : "writes the best hypothesis of each line; "
                                 "--num-hypotheses is for convc generate")
                 << "\n";
    return 1;
  }
  if (options.maxBatchSize == 0) { // by default, batches of like lengths
    options.maxBatchSize = 4096;
    options.batchType = BatchType::Tokens;
  }
  // Options wrong for every line are said once, before any line runs.
  if (Status s = checkGenerationOptions(options, 1); !s.ok()) {
    llvm::errs() << "convc translate: " << s.message() << "\n";
    return 1;
  }
  auto text = llvm::MemoryBuffer::getFileOrSTDIN(input);
  if (!text) {
    llvm::errs() << "convc translate: cannot read '" << input
                 << "': " << text.getError().message() << "\n";
    return 1;
  }
  std::vector<Line> lines;
  llvm::SmallVector<llvm::StringRef> rows;
  (*text)->getBuffer().split(rows, '\n');
  if (!rows.empty() && rows.back().trim().empty())
    rows.pop_back();
  for (size_t i = 0; i < rows.size(); ++i) {
    Line l{i + 1, {}, "", ""};
    if (!parseTokenIds(rows[i].trim(), l.tokens, l.error))
      l.error = "'" + rows[i].trim().str() + "': " + l.error;
    else if (l.tokens.empty())
      l.error = "an empty line (give at least the eos token)";
    lines.push_back(std::move(l));
  }

  // Opened before the work: a path that cannot be written is said before
  // the corpus is translated, not after.
  std::error_code ec;
  llvm::raw_fd_ostream out(output, ec);
  if (ec) {
    llvm::errs() << "convc translate: cannot write '" << output
                 << "': " << ec.message() << "\n";
    return 1;
  }

  Invocation inv;
  if (!loadModel(model, device, inv, "convc translate", /*decodeStep=*/"decode"))
    return 1;
  Module *module = inv.module.get();
  if (!setThreads(*module, threads, "convc translate"))
    return 1;

  bool terminal = llvm::sys::Process::StandardErrIsDisplayed();
  auto t0 = std::chrono::steady_clock::now();
  size_t generated = 0, done = 0;
  for (size_t first = 0; first < lines.size();) {
    std::vector<Line *> batch;
    size_t end = std::min(lines.size(), first + size_t(int(chunk)));
    for (size_t i = first; i < end; ++i)
      if (lines[i].error.empty())
        batch.push_back(&lines[i]);
    if (!batch.empty())
      translateChunk(*module, options, batch, generated);
    done = end;
    first = end;
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - t0).count();
    reportProgress(terminal, done, lines.size(), generated, seconds,
                   done == lines.size());
  }

  // One report per distinct error, with the lines it stopped: a module or
  // option every line fails on (a prefix outside the vocabulary, a module
  // that is no Seq2Seq) is said once, not once per line.
  size_t bad = 0;
  llvm::MapVector<llvm::StringRef, std::vector<size_t>> errors;
  for (const Line &l : lines) {
    out << l.output << "\n";
    if (!l.error.empty()) {
      ++bad;
      errors[l.error].push_back(l.number);
    }
  }
  for (const auto &[error, numbers] : errors)
    llvm::errs() << "convc translate: " << lineList(numbers) << ": " << error
                 << "\n";
  if (bad) {
    llvm::errs() << "convc translate: " << bad << " of " << lines.size()
                 << " lines not translated (left empty in the output)\n";
    return 1;
  }
  return 0;
}

} // namespace convc::tool
