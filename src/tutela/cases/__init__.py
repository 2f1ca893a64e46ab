"""Cases: operations, contact profiles and identity links, review queue, referrals."""
