// Overloaded: a visitor built from lambdas, one per alternative, for
// std::visit over the protocol's variants.
//
//   std::visit(base::Overloaded{[](const A&) {...}, [](const auto&) {...}}, v);
#pragma once

namespace synod::base {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Spelled out for clang before 17, which does not deduce an aggregate's
// template arguments (P1816) and so could not build the fuzz targets.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace synod::base
