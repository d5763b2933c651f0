//===- CompileSession.h - one compilation, input to library ----*- C++ -*-===//
//
// The compile steps, written once for the convc tool and the in-process
// compiler (convc/Compiler.h):
//
//   CompileSession session(options);
//   session.configure();          // the target: CPU features, CUDA toolkit
//   session.loadFile();           // MLIR parse or ONNX import (or loadSource)
//   session.runPipeline(Stage::LLVM);
//   session.emitBinary(Stage::Lib, "model.so");
//
// compile() is all of it, stopping at options.emit as `convc compile` does.
// Each step returns a Status: a failure's message is the sentence to report
// (empty when the diagnostics printed already said it all; see Mode).
//
//===----------------------------------------------------------------------===//

#ifndef CONVC_COMPILER_COMPILESESSION_H
#define CONVC_COMPILER_COMPILESESSION_H

#include "compiler/CompileOptions.h"
#include "convc/Runtime.h" // Status
#include "lowering/llvm/EmitLibrary.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/Timing.h"

#include "llvm/Support/SourceMgr.h"

#include <chrono>
#include <memory>
#include <string>

namespace convc {

/// Registers MLIR's and convc's passes, once per process (pass pipelines
/// are parsed from text).
void registerCompilerPasses();

/// Every dialect, extension and LLVM IR translation a compile may meet
/// (the CUDA target translates its device module), and convc's dialect.
void registerCompilerDialects(mlir::DialectRegistry &registry);

/// What the options resolve to: the machine and the lowering's options.
struct CompileTarget {
  NativeTarget native;
  CpuTargetOptions lowering;
  CudaTargetOptions cuda; // Target::CUDA only
};

/// A model in memory: MLIR text, an ONNX ModelProto, or a Seq2Seq's
/// encoder and full-sequence decoder ModelProtos. The names locate errors.
struct ModelText {
  enum class Kind { MLIR, ONNX, ONNXSeq2Seq };
  Kind kind;
  const std::string &text;
  std::string name;
  const std::string &decoderText; // ONNXSeq2Seq
  std::string decoderName;
  /// The files an ONNX model's bytes were read from (empty for bytes given
  /// in memory): external tensor data is found beside them.
  std::string path = "", decoderPath = "";
};

class CompileSession {
public:
  enum class Mode {
    /// The convc tool: diagnostics go to stderr with their source line as
    /// they come, progress lines too unless options.quiet, and MLIR's
    /// debugging flags apply with options.mlirCommandLine.
    CommandLine,
    /// The host API: nothing is printed; diagnostics, with their locations,
    /// end up in the failing Status's message (after the model's name).
    /// The context is single-threaded: the host may call from its threads.
    InProcess,
  };

  explicit CompileSession(CompileOptions options,
                          Mode mode = Mode::CommandLine);
  ~CompileSession();
  CompileSession(const CompileSession &) = delete;
  CompileSession &operator=(const CompileSession &) = delete;

  const CompileOptions &options() const { return options_; }

  /// Resolves the target from the options: the host CPU (or mcpu/mattr),
  /// the vector width, the package's decoder rule, the CUDA architecture,
  /// toolkit and binary. Creates no MLIR context. For CUDA, a missing
  /// toolkit is Unavailable, other problems InvalidArgument.
  Status configure();
  const CompileTarget &target() const { return target_; }

  /// Loads options.input: a .onnx file is imported (with options.decoder,
  /// the package of both), anything else parsed as MLIR.
  Status loadFile();
  /// Loads a model in memory instead.
  Status loadSource(const ModelText &source);
  /// What `source` depends on besides its bytes: a digest of the external
  /// data files its ONNX models name (empty when none).
  static std::string externalDataDigest(const ModelText &source);

  /// Runs the passes from the stage the module is at to `to` (at most
  /// LLVM); nothing when it is there already.
  Status runPipeline(Stage to);
  Stage stage() const { return stage_; }
  mlir::ModuleOp module() { return *module_; }

  /// Writes the module as MLIR text (`path` "-": stdout).
  Status writeIR(const std::string &path);
  /// Writes the GPU device code (PTX), which needs the LLVM stage reached
  /// with --emit=ptx's options.
  Status writePTX(const std::string &path);
  /// Translates the LLVM-dialect module to optimised LLVM IR and writes an
  /// object file (Stage::Obj) or a shared library (Stage::Lib) to `path`.
  /// A library is linked from an object at `objectPath` (a temporary file
  /// when empty), removed afterwards.
  Status emitBinary(Stage stage, const std::string &path,
                    const std::string &objectPath = "");

  /// A progress line, "convc: <what> <seconds since the last> s" (only in
  /// CommandLine mode, unless quiet).
  void progress(const std::string &what);

private:
  /// How a failure reads. CommandLine: the message, or nothing where the
  /// printed diagnostics said it (Diagnosed). InProcess: as below.
  enum class Says {
    Diagnosed,       // "<name>: <message>[:\n<diagnostics>]"
    WithDiagnostics, // the same, and the message in CommandLine mode too
    Named,           // "<name>: <message>"
    Plain,           // "<message>"
  };
  Status fail(StatusCode code, const std::string &message, Says says);
  void createContext();
  void installDiagnostics();
  void startTiming();

  CompileOptions options_;
  Mode mode_;
  CompileTarget target_;
  std::string name_; // the model, in InProcess errors
  Stage stage_ = Stage::Import;
  std::chrono::steady_clock::time_point last_;
  std::string diagnostics_; // InProcess
  llvm::SourceMgr sourceMgr_;
  mlir::DefaultTimingManager timing_;
  mlir::TimingScope rootTiming_;
  // Destroyed in reverse: the module and handlers before their context.
  std::unique_ptr<mlir::MLIRContext> context_;
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> printer_;
  std::unique_ptr<mlir::ScopedDiagnosticHandler> onnxNodePrinter_;
  std::unique_ptr<mlir::ScopedDiagnosticHandler> collector_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
};

/// `convc compile`: options.input to options.output, stopping at
/// options.emit (with --report's summary and the progress lines).
Status compile(const CompileOptions &options);

/// Whether the model file at `path` is ONNX: named .onnx in any case, or a
/// protobuf whose first field is ModelProto's ir_version (byte 0x08: no
/// MLIR text starts with it), whatever its name (.pb, .bin). With empty
/// `contents`, the file's first byte is read.
bool isONNXModelFile(llvm::StringRef path, llvm::StringRef contents = {});

/// `--report`: prints on stderr how many of each convc op `module` holds
/// and what stays on the generic (linalg) path, for IR at `stage`.
void printOpReport(mlir::ModuleOp module, llvm::StringRef stage);

} // namespace convc

#endif // CONVC_COMPILER_COMPILESESSION_H
