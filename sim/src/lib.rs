//! opend-sim
