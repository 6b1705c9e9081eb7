//! Auctions: create, read, bids, and the close (winner, losers and stats in one write).

use super::{idle, Ctx, Result, Service, Step};
use crate::auction::{self, Auction, Bid, NewAuction};
use crate::error::DomainError;
use crate::event as ev;
use crate::profile::Stats;
use crate::schedule::Decision;
use crate::store::*;

/// Bids read per page when listing an auction's bidders.
const BIDS_PAGE: usize = 100;

impl Service {
    pub async fn create_auction(&self, ctx: &Ctx, input: &NewAuction) -> Result<Auction> {
        self.optimistic(|| async {
            let item = self.item(&input.item_id).await?;
            let (next, auction) = auction::create_auction(
                &item.value,
                &ctx.caller,
                input,
                self.new_id(),
                self.settings.min_auction,
                ctx.now,
            )?;
            let event = self.envelope(
                ctx,
                ev::AuctionCreated {
                    auction_id: auction.id.clone(),
                    item_id: auction.item_id.clone(),
                    seller_id: auction.seller_id.clone(),
                    ends_at: auction.ends_at,
                    starting_price: auction.starting_price,
                    min_increment: auction.min_increment,
                },
            );
            self.store
                .commit(Change {
                    writes: vec![
                        Write::Item(next, Expect::Version(item.version)),
                        Write::Auction(auction.clone(), Expect::New),
                    ],
                    events: vec![event],
                })
                .await?;
            Ok(auction)
        })
        .await
    }

    pub async fn get_auction(&self, id: &str) -> Result<Auction> {
        Ok(self.auction(id).await?.value)
    }

    pub async fn bids(&self, id: &str, below: Option<i64>, limit: usize) -> Result<Page<Bid>> {
        let auction = self.auction(id).await?;
        Ok(self.store.bids(&auction.value.id, below, limit).await?)
    }

    /// Places a bid: accepted bids are serialised by the auction's version, each decided on the state it is
    /// written over, so the stored leader and amount are always the highest accepted bid.
    pub async fn place_bid(
        &self,
        ctx: &Ctx,
        auction_id: &str,
        amount: i64,
    ) -> Result<(Bid, Auction)> {
        self.optimistic(|| async {
            let auction = self.auction(auction_id).await?;
            let placed = auction::place_bid(
                &auction.value,
                &ctx.caller,
                amount,
                self.new_id(),
                ctx.now,
                self.settings.sniping_window,
            )?;
            let a = &placed.auction;
            let mut events = vec![self.envelope(
                ctx,
                ev::BidPlaced {
                    auction_id: a.id.clone(),
                    bid_id: placed.bid.bid_id.clone(),
                    bidder_id: placed.bid.bidder_id.clone(),
                    amount,
                    bid_count: a.bid_count,
                    ends_at: a.ends_at,
                    previous_leader_id: placed.previous_leader.clone(),
                },
            )];
            if placed.extended {
                events.push(self.envelope(
                    ctx,
                    ev::AuctionExtended {
                        auction_id: a.id.clone(),
                        ends_at: a.ends_at,
                        extensions: a.extensions,
                    },
                ));
            }
            self.store
                .commit(Change {
                    writes: vec![
                        Write::Auction(placed.auction.clone(), Expect::Version(auction.version)),
                        Write::Bid(placed.bid.clone()),
                    ],
                    events,
                })
                .await?;
            Ok((placed.bid, placed.auction))
        })
        .await
    }

    /// Closes an auction once its endsAt has passed: CLOSED, the item SOLD to the leader (or UNSOLD), the
    /// winner's and seller's stats, and AuctionEnded naming winner, amount, bid count and losers, all in one
    /// write conditional on the auction's version (a bid placed meanwhile makes it decide again).
    pub async fn close_auction(&self, ctx: &Ctx, auction_id: &str) -> Result<Step> {
        self.optimistic(|| async {
            let auction = self.auction(auction_id).await?;
            let item = self
                .store
                .item(&auction.value.item_id)
                .await?
                .ok_or(DomainError::NotFound("item"))?;
            let decision = auction::close_auction(&auction.value, &item.value, ctx.now);
            let Decision::Act(closing) = decision else {
                return Ok(idle(&decision));
            };
            let bidders = self.bidders(auction_id).await?;
            let winner_id = closing.winner.as_ref().map(|(w, _)| w.clone());
            let loser_ids =
                auction::losers(bidders.iter().map(String::as_str), winner_id.as_deref());
            let a = &closing.auction;
            let event = self.envelope(
                ctx,
                ev::AuctionEnded {
                    auction_id: a.id.clone(),
                    item_id: a.item_id.clone(),
                    seller_id: a.seller_id.clone(),
                    winner_id: winner_id.clone(),
                    amount: closing.winner.as_ref().map(|(_, amount)| *amount),
                    bid_count: a.bid_count,
                    loser_ids,
                },
            );
            let mut writes = vec![
                Write::Auction(closing.auction.clone(), Expect::Version(auction.version)),
                Write::Item(closing.item.clone(), Expect::Version(item.version)),
            ];
            if let Some(winner) = winner_id {
                writes.push(Write::AddStats {
                    user_id: winner,
                    stats: Stats {
                        auctions_won: 1,
                        ..Stats::default()
                    },
                });
                writes.push(Write::AddStats {
                    user_id: a.seller_id.clone(),
                    stats: Stats {
                        auctions_sold: 1,
                        ..Stats::default()
                    },
                });
            }
            self.store
                .commit(Change {
                    writes,
                    events: vec![event],
                })
                .await?;
            Ok(Step::Done)
        })
        .await
    }

    /// Every bidder of an auction, highest bid first (with repeats).
    async fn bidders(&self, auction_id: &str) -> Result<Vec<String>> {
        let mut bidders = vec![];
        let mut below = None;
        loop {
            let page = self.store.bids(auction_id, below, BIDS_PAGE).await?;
            let last = page.items.last().map(|b| b.amount);
            bidders.extend(page.items.into_iter().map(|b| b.bidder_id));
            match (page.next_cursor, last) {
                (Some(_), Some(amount)) => below = Some(amount),
                _ => return Ok(bidders),
            }
        }
    }
}
