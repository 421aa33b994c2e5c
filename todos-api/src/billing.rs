//! The user's billing summary: a plan and recent invoices, made up but deterministic per user
//! (the same `sub` always sees the same figures, different users see different ones).

use serde::Serialize;

/// A subscription plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Plan id.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Price per seat and month, in cents.
    pub price_per_seat_cents: u32,
    /// Seats paid for.
    pub seats: u32,
}

/// One invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    /// Invoice id.
    pub id: String,
    /// Billing period, `YYYY-MM`.
    pub period: &'static str,
    /// Amount, in cents.
    pub amount_cents: u32,
    /// Payment state.
    pub status: &'static str,
}

/// The billing summary of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Billing {
    /// The current plan.
    pub plan: Plan,
    /// ISO 4217 currency of all amounts.
    pub currency: &'static str,
    /// Card on file, e.g. `visa ending 4242`.
    pub payment_method: String,
    /// Latest invoices, newest first.
    pub invoices: Vec<Invoice>,
}

const PLANS: [(&str, &str, u32); 3] = [
    ("starter", "Starter", 500),
    ("pro", "Pro", 1_200),
    ("team", "Team", 2_900),
];

const PERIODS: [&str; 3] = ["2026-10", "2026-09", "2026-08"];

const CARD_BRANDS: [&str; 3] = ["visa", "mastercard", "amex"];

/// The billing summary for `sub`.
pub fn billing_for(sub: &str) -> Billing {
    let hash = fnv1a(sub.as_bytes());
    let (id, name, price) = PLANS[(hash % 3) as usize];
    let seats = if id == "team" {
        3 + ((hash >> 8) % 8) as u32
    } else {
        1
    };
    let amount = price * seats;
    let invoices = PERIODS
        .iter()
        .enumerate()
        .map(|(i, period)| Invoice {
            id: format!("in_{:08x}_{}", hash as u32, period.replace('-', "")),
            period,
            amount_cents: amount,
            // The newest invoice of every fifth user is still open.
            status: if i == 0 && (hash >> 16).is_multiple_of(5) {
                "open"
            } else {
                "paid"
            },
        })
        .collect();
    Billing {
        plan: Plan {
            id,
            name,
            price_per_seat_cents: price,
            seats,
        },
        currency: "USD",
        payment_method: format!(
            "{} ending {:04}",
            CARD_BRANDS[((hash >> 24) % 3) as usize],
            (hash >> 32) % 10_000
        ),
        invoices,
    }
}

/// FNV-1a, 64 bit: a stable hash (std's `DefaultHasher` may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_is_deterministic_per_user() {
        assert_eq!(billing_for("alice"), billing_for("alice"));
        assert_eq!(billing_for("auth0|dave"), billing_for("auth0|dave"));
    }

    #[test]
    fn different_users_get_different_invoices() {
        assert_ne!(
            billing_for("alice").invoices[0].id,
            billing_for("bob").invoices[0].id
        );
    }

    #[test]
    fn invoices_charge_the_plan_price_times_seats() {
        for sub in ["alice", "bob", "carol", "auth0|dave"] {
            let billing = billing_for(sub);
            assert_eq!(billing.invoices.len(), 3);
            for invoice in &billing.invoices {
                assert_eq!(
                    invoice.amount_cents,
                    billing.plan.price_per_seat_cents * billing.plan.seats
                );
            }
        }
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
