//===- ExportEntryPoints.cpp - C ABI and signature table -----------------===//
//
// The signature table is plain text, one line per item:
//
//   convc-signature 2
//   entry main
//   input x f32 s0,s1,512
//   input offsets f32 s0,s1,16
//   output y f32 s0,s1,512
//
// Names are percent-encoded (whitespace, control bytes and '%' as %XX, the
// empty name as a lone %): an ONNX name may hold spaces or newlines, which
// would otherwise read back as other fields or lines. The runtime parses it
// with no MLIR at hand (runtime/src/Module.cpp).
//
//===----------------------------------------------------------------------===//

#include "dialect/ConvcDialect.h"
#include "lowering/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/StringMap.h"

#include <cctype>
#include <optional>

namespace convc {
#define GEN_PASS_DEF_EXPORTENTRYPOINTSPASS
#include "lowering/Passes.h.inc"
} // namespace convc

using namespace mlir;
using namespace convc;

namespace {

/// Symbolic sizes of every tensor value in a function: one symbol per
/// dimension, merged where an op requires equality. A class that contains a
/// static size prints that size, so a dynamic argument tied to a static one
/// is checked against it.
class DimSymbols {
public:
  explicit DimSymbols(func::FuncOp func) {
    // Input dims the model declares one size (the ONNX importer's
    // `convc.dim_params`: ONNX dim_param names) are one symbol, so the
    // runtime refuses inputs that disagree before the code relies on it.
    llvm::StringMap<std::pair<Value, int64_t>> declared;
    for (BlockArgument arg : func.getArguments()) {
      auto params =
          func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), kDimParams);
      for (auto [d, param] : llvm::enumerate(params ? params.getValue()
                                                    : ArrayRef<Attribute>())) {
        auto name = dyn_cast<StringAttr>(param);
        if (!name || name.getValue().empty())
          continue;
        auto [it, first] = declared.try_emplace(name.getValue(), arg, d);
        if (!first)
          unite(it->second.first, it->second.second, arg, d);
        else if (isPlainName(name.getValue()))
          namedDims.push_back({name.getValue().str(), arg, int64_t(d)});
      }
    }
    func.walk([&](Operation *op) { visit(op); });
  }

  static constexpr llvm::StringLiteral kDimParams = "convc.dim_params";

  /// "s0,s1,512" for `value`.
  std::string describe(Value value) {
    auto type = cast<RankedTensorType>(value.getType());
    const SmallVector<int64_t> &syms = symbolsOf(value);
    std::string text;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      if (i)
        text += ",";
      int64_t leader = classes.getLeaderValue(syms[i]);
      auto fixed = staticSize.find(leader);
      if (fixed != staticSize.end())
        text += std::to_string(fixed->second);
      else if (std::optional<std::string> name = declaredName(leader))
        text += *name;
      else
        text += "s" + std::to_string(canonical(leader));
    }
    return text;
  }

private:
  /// The symbols of `value`'s dimensions, created on first use (function
  /// arguments, op results and nested block arguments alike).
  const SmallVector<int64_t> &symbolsOf(Value value) {
    auto it = symbols.find(value);
    if (it != symbols.end())
      return it->second;
    SmallVector<int64_t> syms;
    if (auto type = dyn_cast<RankedTensorType>(value.getType()))
      for (int64_t i = 0; i < type.getRank(); ++i) {
        classes.insert(next);
        if (!type.isDynamicDim(i))
          staticSize[next] = type.getDimSize(i);
        syms.push_back(next++);
      }
    return symbols[value] = syms;
  }

  void unite(Value a, int64_t da, Value b, int64_t db) {
    int64_t sa = symbolsOf(a)[da], sb = symbolsOf(b)[db];
    int64_t la = classes.getLeaderValue(sa), lb = classes.getLeaderValue(sb);
    if (la == lb)
      return;
    std::optional<int64_t> size;
    for (int64_t l : {la, lb})
      if (auto it = staticSize.find(l); it != staticSize.end())
        size = it->second;
    classes.unionSets(sa, sb);
    if (size)
      staticSize[classes.getLeaderValue(sa)] = *size;
  }

  /// All dimensions of `a` and `b` (same rank) are equal.
  void uniteAll(Value a, Value b) {
    auto ta = dyn_cast<RankedTensorType>(a.getType());
    auto tb = dyn_cast<RankedTensorType>(b.getType());
    if (!ta || !tb || ta.getRank() != tb.getRank())
      return;
    for (int64_t i = 0; i < ta.getRank(); ++i)
      unite(a, i, b, i);
  }

  void visit(Operation *op) {
    for (Value result : op->getResults())
      symbolsOf(result);
    // Elementwise ops (arith on tensors, ...) need operands shaped alike.
    if (op->hasTrait<OpTrait::Elementwise>() ||
        op->hasTrait<OpTrait::SameOperandsAndResultShape>() ||
        op->hasTrait<OpTrait::SameOperandsAndResultType>()) {
      for (Value v : llvm::concat<Value>(op->getOperands(), op->getResults()))
        if (isa<RankedTensorType>(v.getType()))
          uniteAll(op->getResult(0), v);
      return;
    }
    if (!isa<ConvcDialect>(op->getDialect()) || isa<CheckOp>(op))
      return;
    Value input = op->getOperand(0), result = op->getResult(0);
    auto inType = cast<RankedTensorType>(input.getType());
    // Every convc op keeps the leading dimensions of its input.
    for (int64_t i = 0; i + 1 < inType.getRank(); ++i)
      unite(input, i, result, i);
    if (!isa<GLUOp, KernelSoftmaxOp, LinearOp>(op))
      unite(input, inType.getRank() - 1, result, inType.getRank() - 1);
    // Per-position operands share batch and time with the input.
    if (isa<TaLKConvOp, WindowDiffOp, DynamicKernelConvOp>(op))
      for (int64_t i = 0; i < 2; ++i)
        unite(input, i, op->getOperand(1), i);
    if (auto embed = dyn_cast<EmbeddingOp>(op); embed && embed.getStart())
      unite(embed.getTokens(), 0, embed.getStart(), 0);
    if (auto attn = dyn_cast<AttentionOp>(op)) {
      uniteAll(attn.getKey(), attn.getValue());
      unite(attn.getQuery(), 0, attn.getKey(), 0);
      unite(attn.getQuery(), 2, attn.getKey(), 2);
      if (Value m = attn.getKeyPadding())
        for (int64_t i = 0; i < 2; ++i)
          unite(attn.getKey(), i, m, i);
    }
    if (auto stepOp = dyn_cast<ConvWindowStepOp>(op)) {
      unite(stepOp.getInput(), 0, stepOp.getState(), 0);
      uniteAll(stepOp.getState(), stepOp.getNewState());
    }
    if (auto stepOp = dyn_cast<TaLKStepOp>(op)) {
      uniteAll(stepOp.getInput(), stepOp.getResult());
      uniteAll(stepOp.getRing(), stepOp.getNewRing());
      for (Value v : {stepOp.getOffsets(), stepOp.getRing(), stepOp.getStep()})
        unite(stepOp.getInput(), 0, v, 0);
      unite(stepOp.getInput(), 1, stepOp.getOffsets(), 1);
    }
    if (auto masked = dyn_cast<MaskPositionsOp>(op))
      for (int64_t i = 0; i < 2; ++i)
        unite(masked.getInput(), i, masked.getMask(), i);
    // Residuals have the result's shape.
    if (auto linear = dyn_cast<LinearOp>(op); linear && linear.getResidual())
      uniteAll(result, linear.getResidual());
    if (auto norm = dyn_cast<LayerNormOp>(op); norm && norm.getResidual())
      uniteAll(result, norm.getResidual());
  }

  /// A dim_param the signature can carry as it is: an identifier that no
  /// generated symbol (s0, s1, ...) or static size can be mistaken for.
  static bool isPlainName(StringRef name) {
    if (name.empty() ||
        !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
      return false;
    if (!llvm::all_of(name, [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        }))
      return false;
    return !(name.size() > 1 && name[0] == 's' &&
             llvm::all_of(name.drop_front(), [](char c) {
               return std::isdigit(static_cast<unsigned char>(c));
             }));
  }

  /// The first declared name (in argument order) in `leader`'s class.
  std::optional<std::string> declaredName(int64_t leader) {
    for (const NamedDim &named : namedDims)
      if (classes.getLeaderValue(symbolsOf(named.arg)[named.dim]) == leader)
        return named.name;
    return std::nullopt;
  }

  int64_t canonical(int64_t leader) {
    auto [it, inserted] = names.try_emplace(leader, names.size());
    return it->second;
  }

  llvm::DenseMap<Value, SmallVector<int64_t>> symbols;
  llvm::EquivalenceClasses<int64_t> classes;
  llvm::DenseMap<int64_t, int64_t> staticSize; // class leader -> size
  llvm::DenseMap<int64_t, int64_t> names;
  struct NamedDim {
    std::string name;
    Value arg;
    int64_t dim;
  };
  SmallVector<NamedDim> namedDims; // the model's names for its input dims
  int64_t next = 0;
};

std::string elementName(Type type) {
  Type element = getElementTypeOrSelf(type);
  if (element.isF32())
    return "f32";
  if (element.isF16())
    return "f16";
  if (element.isBF16())
    return "bf16";
  if (element.isF64())
    return "f64";
  if (element.isInteger(64))
    return "i64";
  if (element.isInteger(32))
    return "i32";
  if (element.isInteger(8))
    return "i8"; // or u8, which `convc.dtype` says
  if (element.isInteger(1))
    return "bool";
  return "";
}

/// A name as one whitespace-free field of the table.
std::string encodeName(StringRef name) {
  if (name.empty())
    return "%";
  std::string text;
  for (unsigned char c : name) {
    if (c > ' ' && c != '%' && c != 0x7f) {
      text.push_back(c);
      continue;
    }
    static const char hex[] = "0123456789ABCDEF";
    text += {'%', hex[c >> 4], hex[c & 15]};
  }
  return text;
}

struct ExportEntryPointsPass
    : convc::impl::ExportEntryPointsPassBase<ExportEntryPointsPass> {
  using ExportEntryPointsPassBase::ExportEntryPointsPassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (target != "cpu" && target != "cuda") {
      module.emitError() << "convc-export-entry-points: unknown target '"
                         << target << "' (cpu or cuda)";
      return signalPassFailure();
    }
    std::string table = "convc-signature 2\n";
    if (target == "cuda")
      table += "target cuda\n";
    SmallVector<func::FuncOp> entries;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isPrivate() || func.isExternal())
        continue;
      auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
      SmallVector<Value> values(func.getArguments());
      llvm::append_range(values, ret.getOperands());
      for (Value v : values)
        if (!isa<RankedTensorType>(v.getType()) ||
            elementName(v.getType()).empty()) {
          func.emitError() << "entry point '" << func.getSymName()
                           << "': every argument and result must be a "
                              "ranked tensor of f32/f16/bf16/f64/i64/i32/i8/"
                              "i1, "
                              "got "
                           << v.getType();
          return signalPassFailure();
        }
      // Inputs are bound and outputs written (DIR/<name>.npy) by name: two
      // with one name would be fed one file, or one overwrite the other.
      auto namesUnique = [&](unsigned n, auto nameOf, StringRef what) {
        llvm::StringMap<unsigned> seen;
        for (unsigned i = 0; i < n; ++i) {
          auto [it, inserted] = seen.try_emplace(nameOf(i), i);
          if (!inserted) {
            func.emitError()
                << "entry point '" << func.getSymName() << "': " << what << "s "
                << it->second << " and " << i << " are both named '"
                << it->first() << "' (convc.name must be unique)";
            return false;
          }
        }
        return true;
      };
      auto argName = [&](unsigned i) {
        auto name = func.getArgAttrOfType<StringAttr>(i, "convc.name");
        return name ? name.str() : "input" + std::to_string(i);
      };
      auto resultName = [&](unsigned i) {
        auto name = func.getResultAttrOfType<StringAttr>(i, "convc.name");
        return name ? name.str() : "output" + std::to_string(i);
      };
      if (!namesUnique(func.getNumArguments(), argName, "input") ||
          !namesUnique(ret.getNumOperands(), resultName, "output"))
        return signalPassFailure();
      DimSymbols dims(func);
      table += "entry " + encodeName(func.getSymName()) + "\n";
      // `convc.dtype` names what the element type cannot (u8 as i8).
      auto dtypeOf = [](StringAttr dtype, Type type) {
        return dtype ? dtype.str() : elementName(type);
      };
      for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
        table += "input " + encodeName(argName(i)) + " " +
                 dtypeOf(func.getArgAttrOfType<StringAttr>(i, "convc.dtype"),
                         arg.getType()) +
                 " " + dims.describe(arg) + "\n";
      }
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        table += "output " + encodeName(resultName(i)) + " " +
                 dtypeOf(func.getResultAttrOfType<StringAttr>(i, "convc.dtype"),
                         value.getType()) +
                 " " + dims.describe(value) + "\n";
      }
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    UnitAttr::get(&getContext()));
      // The names and dim_params now live in the table; LLVM has no use
      // for them.
      for (unsigned i = 0; i < func.getNumArguments(); ++i) {
        // The caller's buffers are inputs only: bufferization must not
        // compute in place into them (a second call with the same inputs
        // would read the first call's results).
        func.setArgAttr(i, "bufferization.writable",
                        BoolAttr::get(&getContext(), false));
        func.removeArgAttr(i, "convc.name");
        func.removeArgAttr(i, "convc.dtype");
        func.removeArgAttr(i, DimSymbols::kDimParams);
      }
      for (unsigned i = 0; i < func.getNumResults(); ++i)
        for (StringRef attr : {"convc.name", "convc.dtype"})
          func.removeResultAttr(i, StringAttr::get(&getContext(), attr));
      entries.push_back(func);
    }
    // An entry keeps its name in the table only: as a symbol, `main`,
    // `exp` or `malloc` would be the host's, libm's or libc's.
    SymbolTable symbols(module);
    for (func::FuncOp func : entries)
      if (failed(symbols.rename(
              func, (kEntrySymbolPrefix + func.getSymName()).str()))) {
        func.emitError() << "cannot rename entry point '" << func.getSymName()
                         << "'";
        return signalPassFailure();
      }
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    table.push_back('\0');
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), table.size());
    LLVM::GlobalOp::create(b, module.getLoc(), type, /*isConstant=*/true,
                           LLVM::Linkage::External, "convc_signature",
                           b.getStringAttr(table));
  }
};

} // namespace
