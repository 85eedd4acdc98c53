// Everything differentiable, in one include: `#include "ops/ops.h"`.
#pragma once

#include "autograd/backward.h"
#include "autograd/node.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/random.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#include "ops/softmax.h"
#include "ops/sort.h"
