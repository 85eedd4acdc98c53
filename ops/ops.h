// Everything differentiable, in one include: `#include "ops/ops.h"`.
#pragma once

#include "autograd/backward.h"
#include "autograd/node.h"
#include "ops/attention.h"
#include "ops/autocast.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/random.h"
#include "ops/shape.h"
