import Foundation
import H5ToLiteIR

/// One-operand activations, with TFLite's float formulas.
struct UnaryKernel: Kernel {
    enum Function {
        case unary(UnaryKind)
        case leakyRelu(alpha: Float)
    }

    let function: Function
    let count: Int
    let threads: Int

    func run(_ context: KernelContext) {
        switch function {
        case .unary(.relu): apply(context, Relu.self, 0)
        case .unary(.relu6): apply(context, Relu6.self, 0)
        case .unary(.reluN1To1): apply(context, ReluN1To1.self, 0)
        case .unary(.logistic): apply(context, Logistic.self, 0)
        case .unary(.tanh): apply(context, Tanh.self, 0)
        case .unary(.elu): apply(context, Elu.self, 0)
        case .unary(.hardSwish): apply(context, HardSwish.self, 0)
        case .unary(.rsqrt): apply(context, Rsqrt.self, 0)
        case .unary(.gelu): apply(context, Gelu.self, 0)
        case .unary(.approximateGelu): apply(context, ApproximateGelu.self, 0)
        case .leakyRelu(let alpha): apply(context, LeakyRelu.self, alpha)
        }
    }

    /// Generic over the function so each one compiles into its own loop.
    private func apply<Function: UnaryFunction>(_ context: KernelContext, _: Function.Type, _ parameter: Float) {
        parallelFor(count, threads: threads, grain: 1 << 14) { _, range in
            for i in range { context.output[i] = Function.apply(context.inputs[0][i], parameter) }
        }
    }
}

/// An activation of x, with one parameter for those that have one.
private protocol UnaryFunction {
    static func apply(_ x: Float, _ parameter: Float) -> Float
}

private enum Relu: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { max(x, 0) } }
private enum Relu6: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { min(max(x, 0), 6) } }
private enum ReluN1To1: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { min(max(x, -1), 1) } }
private enum Tanh: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { tanh(x) } }
private enum Elu: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { x < 0 ? expm1(x) : x } }
private enum HardSwish: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { x * min(6, max(0, x + 3)) / 6 } }
private enum Rsqrt: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { 1 / x.squareRoot() } }
private enum LeakyRelu: UnaryFunction { static func apply(_ x: Float, _ alpha: Float) -> Float { x > 0 ? x : x * alpha } }

/// TFLite's reference logistic: saturated where 1 + exp(-x) would round away
/// the answer.
private enum Logistic: UnaryFunction {
    static func apply(_ x: Float, _: Float) -> Float {
        if x > 16.619047164916992188 { return 1 }
        if x < -9 { return exp(x) }
        return 1 / (1 + exp(-x))
    }
}

private enum Gelu: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { gelu(x) } }
private enum ApproximateGelu: UnaryFunction { static func apply(_ x: Float, _: Float) -> Float { approximateGelu(x) } }

/// GELU as TFLite computes it in float (and tabulates it for int8): x times the normal
/// CDF of x, written with erfc.
func gelu(_ x: Float) -> Float {
    (0.5 * x) * erfc(x * -0.70710678118654752440)
}

/// GELU's tanh approximation (TFLite GELU with `approximate`), in TFLite's order of operations.
func approximateGelu(_ x: Float) -> Float {
    (0.5 * x) * (1 + tanh(0.7978845608028654 * (x + ((0.044715 * x) * x) * x)))
}

/// SOFTMAX over the last axis: exp((x - max) * beta), normalised by its sum.
struct SoftmaxKernel: Kernel {
    let beta: Float
    let rows: Int
    let depth: Int

    func run(_ context: KernelContext) {
        for row in 0..<rows {
            let input = context.inputs[0] + row * depth
            let output = context.output + row * depth
            var largest = -Float.greatestFiniteMagnitude
            for i in 0..<depth { largest = max(largest, input[i]) }
            var sum: Float = 0
            for i in 0..<depth {
                output[i] = exp((input[i] - largest) * beta)
                sum += output[i]
            }
            for i in 0..<depth { output[i] /= sum }
        }
    }
}
