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

}  // namespace synod::base
